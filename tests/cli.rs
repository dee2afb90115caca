//! The `citycore` binary as an operator runs it: configuration layering, migrations,
//! the demo start and graceful shutdown, and durability when the server is killed.

// The test root is this file, so the module path is spelled out.
#[path = "cli/kill_ingest.rs"]
mod kill_ingest;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn citycore(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_citycore"));
    command.arg("--data-dir").arg(data_dir);
    command.env_remove("CITYCORE_CONFIG").env_remove("RUST_LOG");
    command
}

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("citycore runs");
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn config_example_prints_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout_of(citycore(dir.path()).args(["config", "example"]));
    for section in ["[database]", "[server]", "[log]", "[auth]", "[ui]", "[map]", "[locate]"] {
        assert!(text.contains(section), "missing {section}");
    }
}

#[test]
fn config_layers_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("citycore.toml");
    std::fs::write(&file, "[server]\nbind = \"127.0.0.1:9001\"\n[auth]\nlockout_minutes = 7\n")
        .unwrap();
    let shown = stdout_of(
        citycore(dir.path())
            .args(["--config", file.to_str().unwrap(), "config", "show"])
            .env("CITYCORE_AUTH__LOCKOUT_MINUTES", "9")
            .env("CITYCORE_UI__TIME_ZONE", "Asia/Urumqi"),
    );
    assert!(shown.contains("bind = \"127.0.0.1:9001\""), "file value lost:\n{shown}");
    assert!(shown.contains("lockout_minutes = 9"), "environment did not win:\n{shown}");
    assert!(shown.contains("time_zone = \"Asia/Urumqi\""), "{shown}");
    let flagged = stdout_of(
        citycore(dir.path())
            .args(["--config", file.to_str().unwrap(), "--database-url"])
            .arg("postgres://app:pw-never-shown@db.invalid/x")
            .args(["config", "show"])
            .env("CITYCORE_NOTICES__WEBHOOK_SECRET", "gateway-key-never-shown"),
    );
    assert!(flagged.contains("postgres://app:***@db.invalid/x"), "{flagged}");
    assert!(!flagged.contains("pw-never-shown"), "password shown:\n{flagged}");
    assert!(!flagged.contains("gateway-key-never-shown"), "webhook secret shown:\n{flagged}");
    assert!(flagged.contains("webhook_secret = \"***\""), "{flagged}");
}

#[test]
fn config_rejects_unknown_key_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nbindd = \"x\"\n").unwrap();
    let output = citycore(dir.path())
        .args(["--config", file.to_str().unwrap(), "config", "show"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("bindd"), "{message}");
}

#[test]
fn migrate_creates_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    stdout_of(citycore(dir.path()).arg("migrate"));
    assert!(dir.path().join("citycore.db").exists());
}

#[test]
fn serve_rejects_missing_mqtt_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent-ca.pem");
    let output = citycore(dir.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{}", free_port())])
        .env("CITYCORE_MQTT__ENABLED", "true")
        .env("CITYCORE_MQTT__URL", "mqtts://127.0.0.1:8883")
        .env("CITYCORE_MQTT__TLS_CA_FILE", &missing)
        .output()
        .expect("citycore runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a missing CA file must stop serve");
    assert!(stderr.contains("mqtt.tls_ca_file"), "{stderr}");
    assert_eq!(stderr.matches("os error 2").count(), 1, "the reason once: {stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("serving"));
    assert!(!dir.path().join("citycore.db").exists(), "nothing migrated");
}

/// A server process that is killed if the test ends early.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `/readyz` until it returns 200, for at most 30 seconds.
fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http_probe::blocking_get(port).is_ok_and(|status| status == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server on port {port} not ready within 30 s");
}

mod http_probe {
    //! A minimal blocking GET for readiness polling, so this test needs no async runtime.
    use std::io::{Read, Write};

    pub fn blocking_get(port: u16) -> std::io::Result<u16> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok());
        Ok(status.unwrap_or(0))
    }
}

#[test]
fn serve_demo_seeds_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = citycore(dir.path())
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    wait_ready(port);
    let pid = server.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let mut server = server;
    let exit = wait_exit(&mut server.0, Duration::from_secs(15));
    assert_eq!(exit, Some(0), "server did not stop cleanly on SIGTERM");
    let first_output: Vec<String> = BufReader::new(stdout).lines().map_while(Result::ok).collect();
    assert!(
        first_output.iter().any(|line| line.contains("admin")),
        "first start printed no administrator: {first_output:?}"
    );

    let port = free_port();
    let child = citycore(dir.path())
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    wait_ready(port);
    let _ = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status();
    assert_eq!(wait_exit(&mut server.0, Duration::from_secs(15)), Some(0));
    let mut second_output = String::new();
    std::io::Read::read_to_string(&mut server.0.stdout.take().unwrap(), &mut second_output)
        .unwrap();
    assert!(!second_output.contains("password"), "second start printed: {second_output}");

    // The demo's routing rules export, and an invalid import names its cell and keeps them.
    let exported = stdout_of(citycore(dir.path()).args(["routing", "export"]));
    assert!(exported.contains("territory,110105900001,E01,CGZF"), "demo rules: {exported}");
    let bad_file = dir.path().join("bad-rules.csv");
    std::fs::write(&bad_file, "basis,area_code,category,department_code\nowner,0,,HWS\n").unwrap();
    let output = citycore(dir.path()).args(["routing", "import"]).arg(&bad_file).output().unwrap();
    assert!(!output.status.success(), "invalid rules rejected");
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("area_code"), "names the column: {errors}");
    let again = stdout_of(citycore(dir.path()).args(["routing", "export"]));
    assert_eq!(again, exported, "nothing imported");

    let added = stdout_of(citycore(dir.path()).args([
        "user",
        "add",
        "--username",
        "hws-handler",
        "--display-name",
        "环卫处置",
        "--role",
        "handler",
        "--area",
        "110105900",
        "--department",
        "HWS",
    ]));
    assert!(added.contains("created user"), "handler with a department: {added}");
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn devices_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,kind,name,longitude,latitude,owner,capacity\n\
         bin-1,waste_bin_fill,垃圾桶,116.47,39.99,环卫所,\n\
         lot-1,lot_counter,停车场,116.47,39.99,物业,\n",
    )
    .unwrap();
    let failed = citycore(dir.path()).args(["devices", "import"]).arg(&bad).output().unwrap();
    let errors = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(errors.contains("第 2 条记录，字段 capacity"), "names record and field:\n{errors}");

    let good = dir.path().join("devices.json");
    std::fs::write(
        &good,
        r#"[{"id": "bin-1", "kind": "waste_bin_fill", "name": "垃圾桶", "longitude": 116.47,
            "latitude": 39.99, "owner": "环卫所"}]"#,
    )
    .unwrap();
    // bin-1 imports now, so the failed file above wrote nothing.
    let printed = stdout_of(citycore(dir.path()).args(["devices", "import"]).arg(&good));
    let token_line = printed.lines().nth(1).expect("a token line");
    assert!(token_line.starts_with("bin-1,"), "{printed}");
    assert_eq!(token_line.len(), "bin-1,".len() + 64, "a 64-hex-digit token: {printed}");

    let rotated = stdout_of(citycore(dir.path()).args(["devices", "token", "bin-1"]));
    assert_ne!(rotated.trim(), &token_line["bin-1,".len()..], "a new token");
}

#[test]
fn parking_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "record,lot_ref,space_ref,name,owner_type,capacity,longitude,latitude\n\
         lot,lot-a,,望京西园,residential,2,116.47,39.99\n\
         lot,lot-b,,商场,shop,5,116.4,39.9\n",
    )
    .unwrap();
    let failed =
        citycore(dir.path()).args(["parking", "import-inventory"]).arg(&bad).output().unwrap();
    let errors = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(errors.contains("第 2 行，字段 owner_type"), "names row and field:\n{errors}");

    let good = dir.path().join("lots.geojson");
    std::fs::write(
        &good,
        r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [116.47, 39.99]},
            "properties": {"record": "lot", "lot_ref": "lot-a", "name": "望京西园",
                           "owner_type": "residential", "capacity": 2}}]}"#,
    )
    .unwrap();
    let dry = stdout_of(
        citycore(dir.path()).args(["parking", "import-inventory", "--dry-run"]).arg(&good),
    );
    let applied = stdout_of(citycore(dir.path()).args(["parking", "import-inventory"]).arg(&good));
    assert_eq!(dry.trim(), "would import 1 lots and 0 spaces");
    assert_eq!(applied.trim(), "imported 1 lots and 0 spaces");
}

#[test]
fn bench_intake_posts_cases_and_reports_rate() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout_of(citycore(dir.path()).args([
        "bench",
        "intake",
        "--cases",
        "200",
        "--clients",
        "4",
    ]));
    assert!(text.contains("200 cases, 4 clients:"), "{text}");
    assert!(text.contains("cases/s"), "{text}");
    assert!(text.contains("p95"), "latency percentiles: {text}");
}

#[test]
fn bench_import_stores_cases_and_times_kpi_queries() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout_of(citycore(dir.path()).args([
        "bench",
        "import",
        "--cases",
        "3000",
        "--chunk",
        "1000",
        "--queries",
        "1",
    ]));
    assert!(text.contains("imported 3000 cases"), "{text}");
    assert!(text.contains("peak RSS"), "{text}");
    assert!(text.contains("KPI Feb 15 to Dec 15 by category"), "{text}");
    assert!(text.contains("KPI query mix over 13 runs"), "{text}");
}

/// Writes base64 of 32 bytes of `byte` to a key file and returns the text.
fn write_key(path: &std::path::Path, byte: u8) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    std::fs::write(path, format!("{text}\n")).unwrap();
    text
}

#[test]
fn residents_rotate_key_command() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_key(&dir.path().join("old.key"), 1);
    write_key(&dir.path().join("new.key"), 2);
    let new_file = dir.path().join("new.key");
    let rotated = stdout_of(
        citycore(dir.path())
            .args(["residents", "rotate-key", "--new-key-file"])
            .arg(&new_file)
            .env("CITYCORE_DATA_KEY", &old),
    );
    assert!(rotated.contains("re-sealed 0 values"), "{rotated}");

    // The lookup key now opens only under the new key.
    let refused = citycore(dir.path())
        .args(["residents", "rotate-key", "--new-key-file"])
        .arg(&new_file)
        .env("CITYCORE_DATA_KEY", &old)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "the old key no longer opens the registry");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("residents.data_key"), "{stderr}");
    assert!(!stderr.contains(&old), "the key is not printed");

    let shown = stdout_of(
        citycore(dir.path()).args(["config", "show"]).env("CITYCORE_RESIDENTS__DATA_KEY", &old),
    );
    assert!(!shown.contains(&old), "config show prints the data key:\n{shown}");
    assert!(shown.contains("data_key = \"***\""), "{shown}");
}

#[test]
fn replay_command_stores_a_day_and_prints_summary() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let dataset = data.join("mantova-parking-2019");
    if !dataset.is_dir() {
        assert!(std::env::var_os("CI").is_none(), "dataset {} missing under CI", dataset.display());
        eprintln!("skipping: dataset {} not found", dataset.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let replay = |extra: &[&str]| {
        let mut command = citycore(dir.path());
        command.arg("replay").arg(&dataset).args(["--from", "2019-11-04", "--until", "2019-11-05"]);
        stdout_of(command.args(extra))
    };
    let first = replay(&["--speed", "max", "--batch", "100"]);
    assert!(first.contains("sent 288 readings in 3 batches"), "{first}");
    assert!(first.contains("stored 288, duplicates 0, conflicts 0, rejected 0"), "{first}");

    let unshifted = replay(&["--shift-weeks", "0"]);
    assert!(unshifted.contains("stored 0, duplicates 0, conflicts 0, rejected 288"), "{unshifted}");
    assert!(unshifted.contains("reading_time_too_old"), "{unshifted}");

    // The token variable shares the configuration's prefix and must not be read as a key.
    let devices = stdout_of(
        citycore(dir.path())
            .arg("replay")
            .arg(&dataset)
            .arg("--print-devices")
            .env("CITYCORE_REPLAY_TOKEN", "not-a-configuration-key"),
    );
    assert!(devices.contains("replay-mantova-lot-0,lot_counter,"), "{devices}");

    let bad = citycore(dir.path()).arg("replay").arg(&dataset).args(["--speed", "fast"]).output();
    let bad = bad.unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("positive number"));

    let unknown_area = citycore(dir.path())
        .arg("replay")
        .arg(&dataset)
        .args(["--place", "110105999", "--print-devices"])
        .output()
        .unwrap();
    assert!(!unknown_area.status.success(), "an unknown --place area fails");
    let stderr = String::from_utf8_lossy(&unknown_area.stderr);
    assert!(stderr.contains("area 110105999 does not exist"), "{stderr}");
}
