//! Device readings over MQTT with TLS, against a Mosquitto process of each test's own
//! with a TLS listener on a free loopback port. The CA, broker and client certificates
//! are made by the `openssl` program when the test runs, so none is kept in the tree.
//!
//! Outside CI a test skips with a message when `mosquitto` or `openssl` is missing;
//! under CI it fails.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use citycore::{config::MqttSettings, sensors::mqtt};
use rumqttc::{MqttOptions, TlsConfiguration, Transport};
use serde_json::json;

use crate::{
    captured_log::capture_warnings,
    helpers::spawn_app,
    mqtt::{
        TestClient, eventually, readings, readings_topic, register, settings, start, stored,
        unique_root,
    },
};

/// The PEM files of one test: a CA, a broker certificate for 127.0.0.1 and a client
/// certificate signed by that CA, and a second CA that signed neither.
struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Makes the files, or returns `None` outside CI when `openssl` is not installed.
    fn generate() -> Option<Certificates> {
        let dir = tempfile::tempdir().unwrap();
        let files = Certificates { dir };
        if Command::new("openssl").arg("version").stdout(Stdio::null()).status().is_err() {
            assert!(std::env::var_os("CI").is_none(), "openssl is not installed under CI");
            eprintln!("skipping: the openssl program is not installed");
            return None;
        }
        files.self_signed_ca("ca");
        files.self_signed_ca("other-ca");
        files.signed_by_ca("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        files.signed_by_ca("client", "extendedKeyUsage=clientAuth\n");
        // Mosquitto started as root reads its files after switching to the mosquitto
        // user, so they must be readable by others.
        make_readable(files.dir.path());
        Some(files)
    }

    fn self_signed_ca(&self, name: &str) {
        let subject = format!("/CN=citycore test {name}");
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &subject,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// Makes `{name}.key` and `{name}.pem`, signed by `ca`, with the extensions given.
    fn signed_by_ca(&self, name: &str, extensions: &str) {
        std::fs::write(self.path(&format!("{name}.ext")), extensions).unwrap();
        openssl(
            self.dir.path(),
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                &format!("/CN=citycore test {name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            self.dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// Subscriber settings for a broker on `port` that trust the CA file `ca`.
    fn settings(&self, port: u16, root: &str, ca: &str) -> MqttSettings {
        MqttSettings {
            url: format!("mqtts://127.0.0.1:{port}"),
            tls_ca_file: self.path(ca).display().to_string(),
            ..settings(root, "a", "")
        }
    }

    /// Settings that present the client certificate too.
    fn mutual_settings(&self, port: u16, root: &str) -> MqttSettings {
        MqttSettings {
            tls_cert_file: self.path("client.pem").display().to_string(),
            tls_key_file: self.path("client.key").display().to_string(),
            ..self.settings(port, root, "ca.pem")
        }
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "openssl {args:?} failed: {stderr}");
}

fn make_readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

/// A Mosquitto process with one TLS listener, stopped when dropped.
struct TlsBroker {
    port: u16,
    _process: tokio::process::Child,
}

impl TlsBroker {
    /// Starts the broker, or returns `None` outside CI when `mosquitto` is missing.
    /// `require_client_certificate` makes it reject clients without a certificate that
    /// the test CA signed.
    async fn start(files: &Certificates, require_client_certificate: bool) -> Option<TlsBroker> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = files.path(&format!("mosquitto-{port}.conf"));
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {require_client_certificate}\n",
            files.path("ca.pem").display(),
            files.path("server.pem").display(),
            files.path("server.key").display(),
        );
        std::fs::write(&config, text).unwrap();
        let spawned = tokio::process::Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(process) = spawned else {
            assert!(std::env::var_os("CI").is_none(), "mosquitto is not installed under CI");
            eprintln!("skipping: the mosquitto program is not installed");
            return None;
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "TLS broker did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(TlsBroker { port, _process: process })
    }
}

/// Starts the broker and makes its certificates, or `None` when the test must skip.
async fn broker(require_client_certificate: bool) -> Option<(Certificates, TlsBroker)> {
    let files = Certificates::generate()?;
    let broker = TlsBroker::start(&files, require_client_certificate).await?;
    Some((files, broker))
}

/// Connects a test publisher over TLS, with the client configuration of the subscriber.
async fn publisher(settings: &MqttSettings, client_id: &str) -> TestClient {
    let config = mqtt::tls::client_config(settings).expect("publisher TLS files are valid");
    let mut options = MqttOptions::new(client_id, "127.0.0.1", settings_port(settings));
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))));
    TestClient::connect_with(options).await
}

fn settings_port(settings: &MqttSettings) -> u16 {
    settings.broker_address().expect("valid test URL").port
}

/// Publishes three messages of one reading each for device `mq-1` and waits until
/// the subscriber stored them.
async fn publish_and_wait(settings: &MqttSettings, token: &str, handle: &mqtt::MqttHandle) {
    let root = &settings.topic_root;
    let client = publisher(settings, &format!("{root}-pub")).await;
    let payloads = (0..3)
        .map(|n| json!({"token": token, "readings": readings(1, n)}).to_string().into())
        .collect();
    client.publish_all(&readings_topic(root, "mq-1"), payloads).await;
    let counters = handle.counters.clone();
    eventually("three stored messages", || counters.stored_messages.load(Ordering::SeqCst) == 3)
        .await;
}

#[tokio::test]
async fn tls_broker_readings_are_stored() {
    let Some((files, broker)) = broker(false).await else {
        return;
    };
    let app = spawn_app().await;
    let token = register(&app, "mq-1").await;
    let settings = files.settings(broker.port, &unique_root(), "ca.pem");

    let subscriber = start(&app, settings.clone()).await;
    publish_and_wait(&settings, &token, &subscriber).await;

    assert_eq!(stored(&app, "mq-1").await.len(), 3, "every reading sent over TLS is stored");
    subscriber.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn mutual_tls_broker_readings_are_stored() {
    let Some((files, broker)) = broker(true).await else {
        return;
    };
    let app = spawn_app().await;
    let token = register(&app, "mq-1").await;
    let settings = files.mutual_settings(broker.port, &unique_root());

    let subscriber = start(&app, settings.clone()).await;
    publish_and_wait(&settings, &token, &subscriber).await;

    assert_eq!(stored(&app, "mq-1").await.len(), 3, "every reading sent over mutual TLS is stored");
    subscriber.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn mutual_tls_broker_rejects_subscriber_without_certificate() {
    let Some((files, broker)) = broker(true).await else {
        return;
    };
    let log = capture_warnings();
    let app = spawn_app().await;
    let settings = files.settings(broker.port, &unique_root(), "ca.pem");

    let subscriber = mqtt::spawn(app.state.clone(), settings).expect("subscriber starts");
    eventually("a logged connection failure", || {
        let text = log.text();
        text.contains("MQTT connection failed") || text.contains("MQTT TLS handshake failed")
    })
    .await;

    assert_eq!(subscriber.counters.subscribed.load(Ordering::SeqCst), 0, "no subscription");
    subscriber.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn wrong_ca_logs_handshake_error_and_stores_nothing() {
    let Some((files, broker)) = broker(false).await else {
        return;
    };
    let log = capture_warnings();
    let app = spawn_app().await;
    let token = register(&app, "mq-1").await;
    let root = unique_root();
    let good = files.settings(broker.port, &root, "ca.pem");
    let wrong = files.settings(broker.port, &root, "other-ca.pem");

    let subscriber = mqtt::spawn(app.state.clone(), wrong).expect("subscriber starts");
    let client = publisher(&good, &format!("{root}-pub")).await;
    let payload = json!({"token": token, "readings": readings(1, 0)}).to_string();
    client.publish_all(&readings_topic(&root, "mq-1"), vec![payload.into()]).await;
    eventually("the logged handshake error", || log.text().contains("MQTT TLS handshake failed"))
        .await;

    let text = log.text();
    assert!(text.contains("ERROR"), "logged as an error: {text}");
    assert!(text.contains("mqtt.tls_ca_file"), "names the setting to check: {text}");
    assert!(text.contains("UnknownIssuer"), "gives the reason: {text}");
    assert_eq!(subscriber.counters.subscribed.load(Ordering::SeqCst), 0, "no subscription");
    assert_eq!(subscriber.counters.handled_messages(), 0, "no message handled");
    assert!(stored(&app, "mq-1").await.is_empty(), "nothing stored");
    subscriber.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn unusable_tls_file_names_its_setting() {
    let Some(files) = Certificates::generate() else {
        return;
    };
    let app = spawn_app().await;
    let path = |name: &str| files.path(name).display().to_string();
    std::fs::write(files.path("not-pem.txt"), "not a PEM file").unwrap();
    let mutual = files.mutual_settings(8883, &unique_root());
    let cases = [
        (
            "missing CA file",
            MqttSettings { tls_ca_file: path("absent.pem"), ..mutual.clone() },
            "mqtt.tls_ca_file",
        ),
        (
            "CA file without PEM",
            MqttSettings { tls_ca_file: path("not-pem.txt"), ..mutual.clone() },
            "mqtt.tls_ca_file",
        ),
        (
            "missing client certificate",
            MqttSettings { tls_cert_file: path("absent.pem"), ..mutual.clone() },
            "mqtt.tls_cert_file",
        ),
        (
            "key file without PEM",
            MqttSettings { tls_key_file: path("not-pem.txt"), ..mutual.clone() },
            "mqtt.tls_key_file",
        ),
        (
            "key of another certificate",
            MqttSettings { tls_key_file: path("ca.key"), ..mutual.clone() },
            "mqtt.tls_key_file",
        ),
    ];
    for (description, settings, key) in cases {
        let error = mqtt::spawn(app.state.clone(), settings).err().expect(description);
        let message = error.to_string();
        assert!(message.contains(key), "{description}: {message}");
    }
    let handle = mqtt::spawn(app.state.clone(), mutual).expect("valid files start the subscriber");
    handle.stop(Duration::from_secs(1)).await;
}
