"""The public verification page in a real headless Chromium, driven over
WebDriver (selenium with Debian's chromium and chromedriver), run by
tests/browser.rs against a kyso server it started:

    page.py BASE_URL REPO_ROOT SCREENSHOT_DIR AXE_JS

Each step asserts what a person would see; axe-core is injected on every
page and must report no serious or critical violation. Exits non-zero on
the first failure, with what was expected and what was there.
"""
import base64
import os
import re
import sys

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

BASE, ROOT, SHOTS, AXE = sys.argv[1:5]
os.makedirs(SHOTS, exist_ok=True)
AXE_JS = open(AXE).read()


def fixture(p):
    return os.path.join(ROOT, "testdata", p)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what.split(":")[0])


def axe(drv, name):
    drv.execute_script(AXE_JS)
    found = drv.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length}))))")
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    check(not bad, f"axe on {name}: no serious or critical violation: {bad}")
    return found


def shot(drv, name):
    drv.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def upload(drv, *paths, lang="vi"):
    drv.get(f"{BASE}/?lang={lang}")
    drv.find_element(By.ID, "files").send_keys("\n".join(paths))
    drv.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "section.file")))


def h1_is(drv, text):
    """Whether the page's h1 becomes `text` (the page may still be loading)."""
    try:
        # A page replaced while it is read (the sign-in's redirect) is
        # read again, not taken as a failure.
        WebDriverWait(drv, 10, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.TAG_NAME, "h1").text == text)
        return True
    except Exception:
        return False


def cards(drv):
    return drv.find_elements(By.CSS_SELECTOR, "article.sig")


def main():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,900"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        run(drv)
    finally:
        drv.quit()


def run(drv):
    # The form.
    drv.get(f"{BASE}/")
    check(drv.find_element(By.TAG_NAME, "h1").text == "Kiểm tra chữ ký số", "Vietnamese title")
    check(drv.find_element(By.CSS_SELECTOR, "label[for=files]").is_displayed(), "the file chooser is labelled")
    shot(drv, "page-form")
    axe(drv, "the form")

    # A valid file: green, with the signer's name and the reason in one sentence.
    upload(drv, fixture("pdf/rsa-pkcs1.pdf"))
    c = cards(drv)
    check(len(c) == 1 and "ok" in c[0].get_attribute("class"), "valid file: one green card")
    check("Hợp lệ" in c[0].find_element(By.TAG_NAME, "h3").text, "valid file: says Hợp lệ")
    check("Nguyễn Văn An" in c[0].find_element(By.CSS_SELECTOR, "dd.signer").text, "valid file: signer's name")
    check("không bị thay đổi" in c[0].find_element(By.CSS_SELECTOR, "p.why").text, "valid file: why, in one sentence")
    color = c[0].value_of_css_property("border-left-color")
    check(color in ("rgba(10, 107, 45, 1)", "rgb(10, 107, 45)"), f"valid file: green border: {color}")
    shot(drv, "page-valid")
    axe(drv, "a valid result")

    # With a verification certificate: a signed PDF inside the answer.
    drv.get(f"{BASE}/")
    drv.find_element(By.ID, "files").send_keys(fixture("pdf/rsa-pkcs1.pdf"))
    drv.find_element(By.ID, "certificate").click()
    drv.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "section.file")))
    href = drv.find_element(By.CSS_SELECTOR, "a.certificate").get_attribute("href")
    phieu = base64.b64decode(href.split(",", 1)[1])
    check(phieu.startswith(b"%PDF-") and b"/ByteRange" in phieu, "certificate: a signed PDF from the page")
    with open(os.path.join(SHOTS, "phieu-from-page.pdf"), "wb") as f:
        f.write(phieu)

    # A tampered file: red, the reason named.
    upload(drv, fixture("pdf/tampered-inside-range.pdf"))
    c = cards(drv)
    check("bad" in c[0].get_attribute("class") and "Không hợp lệ" in c[0].text, "tampered file: red")
    why = c[0].find_element(By.CSS_SELECTOR, "p.why").text
    check(why and "Tài liệu không bị thay đổi" not in why, f"tampered file: a reason: {why}")
    shot(drv, "page-tampered")

    # A shadow attack (a page replaced after signing): the changed page
    # named, and the signed revision downloadable byte for byte.
    path = fixture("pdf/attacks/shadow-replace-via-xref.pdf")
    data = open(path, "rb").read()
    upload(drv, path)
    c = cards(drv)[0]
    check("ok" not in c.get_attribute("class"), "shadow attack: not green")
    pages = c.find_elements(By.CSS_SELECTOR, "span.pages")
    check(pages and pages[0].text.strip(), f"shadow attack: changed page named: {c.text[:300]}")
    href = c.find_element(By.CSS_SELECTOR, "p.revision a").get_attribute("href")
    rev = base64.b64decode(href.split(",", 1)[1])
    m = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    end = int(m[0][2]) + int(m[0][3])
    check(rev == data[:end], f"shadow attack: downloaded revision = the signed range ({len(rev)} / {end} bytes)")
    shot(drv, "page-shadow")
    axe(drv, "a shadow-attack result")

    # A .p7s with its content (named as signing tools name them), and
    # several files at once.
    tmp = os.path.join(SHOTS, "upload")
    os.makedirs(tmp, exist_ok=True)
    for src, name in (("cms/detached-rsa.p7s", "to-khai.p7s"), ("cms/content.txt", "to-khai.txt")):
        with open(fixture(src), "rb") as a, open(os.path.join(tmp, name), "wb") as b:
            b.write(a.read())
    upload(drv, os.path.join(tmp, "to-khai.p7s"), os.path.join(tmp, "to-khai.txt"), fixture("pdf/rsa-pkcs1.pdf"))
    sections = drv.find_elements(By.CSS_SELECTOR, "section.file")
    check(len(sections) == 2, f"p7s + content + pdf: two results (content goes with its signature): {len(sections)}")
    check("to-khai.txt" in sections[0].text and "ok" in sections[0].find_element(
        By.CSS_SELECTOR, "article.sig").get_attribute("class"), "p7s with content: green, content named")

    # English.
    drv.get(f"{BASE}/")
    drv.find_element(By.LINK_TEXT, "English").click()
    check(drv.find_element(By.TAG_NAME, "h1").text == "Verify a digital signature", "English toggle")
    upload(drv, fixture("pdf/rsa-pkcs1.pdf"), lang="en")
    check("Valid" in cards(drv)[0].find_element(By.TAG_NAME, "h3").text, "English result")
    check(drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", "English page says lang=en")

    # The certificate tab: a certificate with its chain, green, issued to whom.
    drv.get(f"{BASE}/")
    drv.find_element(By.LINK_TEXT, "Kiểm tra chứng thư số").click()
    check(drv.find_element(By.TAG_NAME, "h1").text == "Kiểm tra chứng thư số", "certificate tab")
    axe(drv, "the certificate tab")
    pem = os.path.join(tmp, "nguyen-van-an.pem")
    with open(pem, "wb") as out:
        for c in ("signer-rsa.pem", "issuing-ca.pem"):
            out.write(open(os.path.join(ROOT, "certs/test", c), "rb").read())
    drv.find_element(By.ID, "files").send_keys(pem)
    drv.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "section.file")))
    c = cards(drv)[0]
    check("ok" in c.get_attribute("class") and "Nguyễn Văn An" in c.text and "Người được cấp" in c.text,
          f"certificate tab: green, issued to: {c.text[:200]}")
    shot(drv, "page-certificate")
    axe(drv, "a certificate result")

    # Keyboard only: Tab reaches the chooser then the button; Enter sends.
    # (The file itself is given to the chooser as the system dialog would.)
    drv.get(f"{BASE}/")
    keys = lambda k: ActionChains(drv).send_keys(k).perform()  # noqa: E731
    for _ in range(10):
        keys(Keys.TAB)
        if drv.switch_to.active_element.get_attribute("id") == "files":
            break
    check(drv.switch_to.active_element.get_attribute("id") == "files", "keyboard: Tab reaches the file chooser")
    drv.find_element(By.ID, "files").send_keys(fixture("pdf/rsa-pkcs1.pdf"))
    keys(Keys.TAB)
    check(drv.switch_to.active_element.get_attribute("id") == "certificate", "keyboard: then the certificate option")
    keys(Keys.TAB)
    active = drv.switch_to.active_element
    check(active.tag_name == "button", f"keyboard: then the button ({active.tag_name})")
    keys(Keys.ENTER)
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "section.file")))
    check("ok" in cards(drv)[0].get_attribute("class"), "keyboard: the result")
    staff(drv)
    print("browser: all page checks passed")


def staff(drv):
    """Staff: sign in with the auditor's key, look the dossier up, re-verify
    a file, read the audit log; a form without the CSRF token is refused."""
    drv.get(f"{BASE}/staff")
    check(drv.find_element(By.TAG_NAME, "h1").text == "Đăng nhập cho cán bộ", "staff: sign-in page")
    axe(drv, "the sign-in page")
    drv.find_element(By.ID, "key").send_keys(os.environ["KYSO_AUDITOR_KEY"])
    form = drv.find_element(By.CSS_SELECTOR, "form.upload")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The sign-in page is replaced (POST, then the redirect to /staff).
    WebDriverWait(drv, 10).until(ec.staleness_of(form))
    check(h1_is(drv, "Tra cứu hồ sơ"), "staff: signed in")
    cookie = drv.get_cookie("kyso_staff")
    check(cookie and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", f"staff: session cookie {cookie}")
    drv.find_element(By.ID, "code").send_keys("HS-2026-000777" + Keys.ENTER)
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.files")))
    body = drv.find_element(By.TAG_NAME, "main").text
    check("Hồ sơ HS-2026-000777" in body and "Cần nộp bản gốc qua bưu điện" in body, "staff: the dossier and its decision")
    check("001203004567" in body, "staff: an auditor sees the applicant's CCCD in full")
    rows = drv.find_elements(By.CSS_SELECTOR, "table.files tbody tr")
    check(len(rows) == 2 and "Hợp lệ" in rows[0].text, "staff: each file's verdict")
    shot(drv, "staff-dossier")
    axe(drv, "the dossier page")
    rows[0].find_element(By.CSS_SELECTOR, "form.inline button").click()
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.ID, "explanation")))
    text = drv.find_element(By.TAG_NAME, "main").text
    check("giống kết quả đã lưu" in text and "TOTAL_PASSED" in text, "staff: re-verified, same as intake")
    shot(drv, "staff-reverify")
    axe(drv, "the re-verification page")
    drv.get(f"{BASE}/staff/audit")
    chain = drv.find_element(By.ID, "chain").text
    check(chain.startswith("✓ Chuỗi băm nguyên vẹn"), f"staff: audit chain intact: {chain}")
    log = drv.find_element(By.TAG_NAME, "table").text
    check("dossier.submit" in log and "document.reverify" in log and "staff.signin" in log, "staff: the audit log")
    shot(drv, "staff-audit")
    axe(drv, "the audit page")
    # Statistics: the chart and the table of the seeded archive (two
    # dossiers in 2026-11: one accepted, one sent to the post).
    drv.find_element(By.LINK_TEXT, "Thống kê").click()
    check(h1_is(drv, "Thống kê hồ sơ trực tuyến"), "staff: statistics page")
    g = drv.find_element(By.CSS_SELECTOR, "#stats-chart g.month")
    got = (g.get_attribute("data-month"), g.get_attribute("data-accepted"), g.get_attribute("data-to-post"))
    check(got == ("2026-11", "1", "1"), f"staff: chart bar 2026-11 accepted 1, to post 1: {got}")
    rects = g.find_elements(By.TAG_NAME, "rect")
    check(len(rects) == 2 and all(float(r.get_attribute("height")) > 0 for r in rects), "staff: both bars drawn")
    row = drv.find_element(By.CSS_SELECTOR, "#stats-table tbody tr").text.split()
    check(row == ["2026-11", "1.004227", "2", "2", "1", "1"], f"staff: the table row: {row}")
    check("FILE_SIGNED" in drv.find_element(By.TAG_NAME, "main").text, "staff: refusal reason listed")
    shot(drv, "staff-stats")
    axe(drv, "the statistics page")
    # A form posted without the session's CSRF token: refused.
    drv.execute_script(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/staff/signout';"
        "document.body.appendChild(f); f.submit();")
    check(h1_is(drv, "Yêu cầu bị từ chối"), "staff: a form without CSRF token refused")
    drv.get(f"{BASE}/staff")
    check(h1_is(drv, "Tra cứu hồ sơ"), "staff: still signed in after the refused post")
    drv.find_element(By.CSS_SELECTOR, "form.signout button").click()
    check(h1_is(drv, "Đăng nhập cho cán bộ"), "staff: signed out")


if __name__ == "__main__":
    main()
