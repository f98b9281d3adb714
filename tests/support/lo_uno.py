#!/usr/bin/python3
"""LibreOffice, headless, as an outside signer and verifier of ODF and OOXML
packages, through its own signing API (what sfx2's DocumentSigner does):

    /usr/bin/python3 tests/support/lo_uno.py --nss DIR sign SRC DST [CN]
    /usr/bin/python3 tests/support/lo_uno.py --nss DIR verify FILE...

Certificates come from the NSS database DIR (MOZILLA_CERTIFICATE_FOLDER).
`verify` prints one line per file:
    FILE<TAB>n=<signatures><TAB>valid=<all SignatureIsValid><TAB>cert=<CertificateStatus,...><TAB>partial=<PartialDocumentSignature,...><TAB>signers=<CN;...>
(n=0 when LibreOffice finds no document signature). soffice is started on a
private pipe and profile, and stopped at the end; it never listens on a
network port. Needs python3-uno (Debian's /usr/bin/python3, not a venv).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.embed.ElementModes import READ, READWRITE


def pv(n, v):
    p = PropertyValue()
    p.Name = n
    p.Value = v
    return p


def zip_args(first, mode):
    return (first, mode, uno.Any("[]com.sun.star.beans.PropertyValue", (pv("StorageFormat", "ZipFormat"),)))


class Office:
    def __init__(self, nss):
        self.dir = tempfile.mkdtemp(prefix="kyso-lo-")
        self.pipe = "kyso_lo_%d" % os.getpid()
        env = dict(os.environ, MOZILLA_CERTIFICATE_FOLDER="sql:" + os.path.abspath(nss))
        self.proc = subprocess.Popen(
            ["soffice", "-env:UserInstallation=file://" + self.dir, "--headless", "--invisible",
             "--norestore", "--nologo", "--nodefault", "--accept=pipe,name=%s;urp;" % self.pipe],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.time() + 60
        while True:
            try:
                self.ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % self.pipe)
                break
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise SystemExit("soffice did not start")
                time.sleep(0.2)
        self.smgr = self.ctx.ServiceManager
        self.sf = self.smgr.createInstanceWithContext("com.sun.star.embed.StorageFactory", self.ctx)
        self.dds = self.smgr.createInstanceWithArgumentsAndContext(
            "com.sun.star.security.DocumentDigitalSignatures", ("1.2", True), self.ctx)

    def close(self):
        try:
            desktop = self.smgr.createInstanceWithContext("com.sun.star.frame.Desktop", self.ctx)
            desktop.terminate()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def sign(self, src, dst, want):
        shutil.copyfile(src, dst)
        sei = self.smgr.createInstanceWithContext("com.sun.star.xml.crypto.SEInitializer", self.ctx)
        env = sei.createSecurityContext("").getSecurityEnvironment()
        certs = [c for c in env.getPersonalCertificates() if want in c.SubjectName]
        if not certs:
            raise SystemExit("no personal certificate with %r in the NSS database" % want)
        url = uno.systemPathToFileUrl(os.path.abspath(dst))
        sfa = self.smgr.createInstanceWithContext("com.sun.star.ucb.SimpleFileAccess", self.ctx)
        stream = sfa.openFileReadWrite(url)
        zipstore = uno.invoke(self.sf, "createInstanceWithArguments", (zip_args(stream, READWRITE),))
        storage = uno.invoke(self.sf, "createInstanceWithArguments", (zip_args(stream, READWRITE),))
        if zipstore.hasByName("META-INF"):  # ODF
            metainf = zipstore.openStorageElement("META-INF", READWRITE)
            name = self.dds.getDocumentContentSignatureDefaultStreamName()
            sig = metainf.openStreamElement(name, READWRITE)
            ok = self.dds.signDocumentWithCertificate(certs[0], storage, sig)
            if ok:
                metainf.commit()
                zipstore.commit()
        else:  # OOXML
            ok = self.dds.signDocumentWithCertificate(certs[0], storage, None)
            if ok:
                zipstore.commit()
        stream.getOutputStream().closeOutput()
        return ok

    def verify(self, path):
        url = uno.systemPathToFileUrl(os.path.abspath(path))
        st = uno.invoke(self.sf, "createInstanceWithArguments", (zip_args(url, READ),))
        infos = self.dds.verifyDocumentContentSignatures(st, None)
        signers = ";".join(i.Signer.SubjectName if i.Signer else "-" for i in infos)
        return "%s\tn=%d\tvalid=%s\tcert=%s\tpartial=%s\tsigners=%s" % (
            path, len(infos), all(i.SignatureIsValid for i in infos) if infos else False,
            ",".join(str(i.CertificateStatus) for i in infos),
            ",".join(str(i.PartialDocumentSignature) for i in infos), signers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nss", required=True)
    ap.add_argument("cmd", choices=["sign", "verify"])
    ap.add_argument("args", nargs="+")
    a = ap.parse_args()
    office = Office(a.nss)
    try:
        if a.cmd == "sign":
            src, dst = a.args[0], a.args[1]
            want = a.args[2] if len(a.args) > 2 else "Nguyen Van Tot"
            ok = office.sign(src, dst, want)
            print("signed" if ok else "not signed", dst)
            sys.exit(0 if ok else 1)
        for f in a.args:
            try:
                print(office.verify(f), flush=True)
            except Exception as e:  # a package LibreOffice cannot open
                print("%s\tn=0\terror=%s" % (f, type(e).__name__), flush=True)
    finally:
        office.close()


if __name__ == "__main__":
    main()
