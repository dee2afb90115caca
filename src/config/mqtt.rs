//! Settings of the MQTT subscriber that ingests device readings (`[mqtt]`).

use serde::{Deserialize, Serialize};

use super::Secret;

/// Connection, topics and batching of the MQTT subscriber.
///
/// Off by default: the embedded default accepts readings over HTTP only, so a fresh
/// install needs no broker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MqttSettings {
    /// Starts the subscriber with `citycore serve`.
    pub enabled: bool,
    /// Broker address: `mqtt://HOST:PORT` (or `tcp://`) for plain TCP, port 1883 when
    /// omitted, or `mqtts://HOST:PORT` (or `ssl://`) for TLS, port 8883 when omitted.
    pub url: String,
    /// PEM file of the CA certificates that may sign the broker's certificate. Required
    /// with `mqtts://` and allowed only with it.
    pub tls_ca_file: String,
    /// PEM file of this node's certificate chain for brokers that require client
    /// certificates (mutual TLS). Empty sends none; a path needs `tls_key_file` too.
    pub tls_cert_file: String,
    /// PEM file of the private key of `tls_cert_file` (PKCS#8, PKCS#1 or SEC1).
    pub tls_key_file: String,
    /// First part of the client id; the node name follows it after a dash.
    pub client_id_prefix: String,
    /// Stable name of this node within the client id; empty uses the host name. The
    /// broker keeps a persistent session per client id, so it must survive restarts.
    pub node_name: String,
    /// User name for the broker; empty connects anonymously.
    pub username: String,
    pub password: Secret,
    /// First topic level of every citycore topic.
    pub topic_root: String,
    /// Shared-subscription group; empty subscribes plainly, a name subscribes through
    /// `$share/{group}/…` so that the nodes of one group split the messages.
    pub shared_group: String,
    /// Interval of MQTT keep-alive pings, in seconds.
    pub keep_alive_seconds: u64,
    /// Wait before the first reconnect attempt, in milliseconds; it doubles with each
    /// failed attempt up to `reconnect_max_seconds`.
    pub reconnect_initial_ms: u64,
    /// Maximum wait between reconnect attempts, in seconds.
    pub reconnect_max_seconds: u64,
    /// Most messages stored in one transaction.
    pub batch_max_messages: usize,
    /// How long a batch waits for more messages after its first one, in milliseconds.
    pub batch_wait_ms: u64,
    /// Largest accepted message payload, in bytes.
    pub max_payload_bytes: usize,
}

/// The broker part of `mqtt.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    pub host: String,
    pub port: u16,
    /// Whether the scheme is `mqtts://` or `ssl://`.
    pub tls: bool,
}

impl Default for MqttSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            url: "mqtt://127.0.0.1:1883".to_owned(),
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            client_id_prefix: "citycore".to_owned(),
            node_name: String::new(),
            username: String::new(),
            password: Secret::default(),
            topic_root: "citycore".to_owned(),
            shared_group: String::new(),
            keep_alive_seconds: 30,
            reconnect_initial_ms: 500,
            reconnect_max_seconds: 30,
            batch_max_messages: 256,
            batch_wait_ms: 5,
            max_payload_bytes: 1024 * 1024,
        }
    }
}

impl MqttSettings {
    /// Returns a copy with the password replaced by `***`, for `citycore config show`.
    pub fn redacted(&self) -> Self {
        let hidden = if self.password.0.is_empty() { String::new() } else { "***".to_owned() };
        Self { password: Secret(hidden), ..self.clone() }
    }

    /// Splits `url` into the broker's address and whether it uses TLS.
    ///
    /// # Errors
    /// Returns the reason when the scheme is unknown, the host is missing or the port is
    /// invalid.
    pub fn broker_address(&self) -> Result<BrokerAddress, &'static str> {
        let schemes = [("mqtt://", false, 1883), ("tcp://", false, 1883)]
            .into_iter()
            .chain([("mqtts://", true, 8883), ("ssl://", true, 8883)]);
        let (rest, tls, default_port) = schemes
            .filter_map(|(scheme, tls, port)| Some((self.url.strip_prefix(scheme)?, tls, port)))
            .next()
            .ok_or("must start with mqtt://, tcp://, mqtts:// or ssl://")?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                (host, port.parse::<u16>().map_err(|_| "the port must be a number 1-65535")?)
            }
            None => (rest, default_port),
        };
        if host.is_empty() || port == 0 {
            return Err("must name a host, such as mqtt://127.0.0.1:1883");
        }
        Ok(BrokerAddress { host: host.to_owned(), port, tls })
    }

    /// Checks that the TLS files fit the scheme of `url`. Whether the files can be read
    /// is checked when the subscriber starts.
    fn validate_tls(&self, tls: bool) -> Result<(), (&'static str, &'static str)> {
        let has_client_files = !self.tls_cert_file.is_empty() || !self.tls_key_file.is_empty();
        if !tls {
            if !self.tls_ca_file.is_empty() || has_client_files {
                return Err(("mqtt.url", "TLS files are set, so the URL must start with mqtts://"));
            }
            return Ok(());
        }
        if self.tls_ca_file.is_empty() {
            return Err((
                "mqtt.tls_ca_file",
                "required with mqtts://; for a broker with a public certificate use the \
                 system bundle, such as /etc/ssl/certs/ca-certificates.crt",
            ));
        }
        if self.tls_cert_file.is_empty() != self.tls_key_file.is_empty() {
            let missing = if self.tls_cert_file.is_empty() {
                "mqtt.tls_cert_file"
            } else {
                "mqtt.tls_key_file"
            };
            return Err((missing, "tls_cert_file and tls_key_file go together"));
        }
        Ok(())
    }

    /// Checks the values that parse but cannot work, whether or not MQTT is enabled.
    ///
    /// # Errors
    /// The key and the reason of the first bad value.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        let address = self.broker_address().map_err(|reason| ("mqtt.url", reason))?;
        self.validate_tls(address.tls)?;
        let is_level = |text: &str| !text.is_empty() && !text.contains(['/', '+', '#']);
        if !is_level(&self.topic_root) {
            return Err(("mqtt.topic_root", "must be one topic level without /, + or #"));
        }
        if !self.shared_group.is_empty() && !is_level(&self.shared_group) {
            return Err(("mqtt.shared_group", "must be empty or a name without /, + or #"));
        }
        if self.batch_max_messages == 0 || self.max_payload_bytes == 0 {
            return Err(("mqtt.batch_max_messages", "batch and payload limits must be at least 1"));
        }
        if self.reconnect_initial_ms == 0 || self.reconnect_max_seconds == 0 {
            return Err(("mqtt.reconnect_initial_ms", "reconnect waits must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(host: &str, port: u16, tls: bool) -> Result<BrokerAddress, &'static str> {
        Ok(BrokerAddress { host: host.to_owned(), port, tls })
    }

    #[test]
    fn broker_address_reads_host_port_and_tls() {
        let with = |url: &str| MqttSettings { url: url.to_owned(), ..Default::default() };
        assert_eq!(
            with("mqtt://127.0.0.1:1883").broker_address(),
            address("127.0.0.1", 1883, false)
        );
        assert_eq!(with("tcp://broker").broker_address(), address("broker", 1883, false));
        assert_eq!(with("mqtts://broker").broker_address(), address("broker", 8883, true));
        assert_eq!(with("ssl://broker:9883/").broker_address(), address("broker", 9883, true));
        assert!(with("https://broker:8883").broker_address().is_err());
        assert!(with("mqtt://broker:port").broker_address().is_err());
        assert!(with("mqtt://:1883").broker_address().is_err());
    }

    #[test]
    fn validate_ties_tls_files_to_the_scheme() {
        let cases = [
            ("mqtts without a CA file", "mqtts://b", "", "", "", Some("mqtt.tls_ca_file")),
            ("mqtts with a CA file", "mqtts://b", "ca.pem", "", "", None),
            ("mutual TLS", "mqtts://b", "ca.pem", "c.pem", "k.pem", None),
            (
                "certificate without key",
                "mqtts://b",
                "ca.pem",
                "c.pem",
                "",
                Some("mqtt.tls_key_file"),
            ),
            (
                "key without certificate",
                "mqtts://b",
                "ca.pem",
                "",
                "k.pem",
                Some("mqtt.tls_cert_file"),
            ),
            ("CA file on plain TCP", "mqtt://b", "ca.pem", "", "", Some("mqtt.url")),
            ("client files on plain TCP", "mqtt://b", "", "c.pem", "k.pem", Some("mqtt.url")),
        ];
        for (description, url, ca, cert, key, expected) in cases {
            let settings = MqttSettings {
                url: url.to_owned(),
                tls_ca_file: ca.to_owned(),
                tls_cert_file: cert.to_owned(),
                tls_key_file: key.to_owned(),
                ..Default::default()
            };
            let key = settings.validate().err().map(|(key, _)| key);
            assert_eq!(key, expected, "{description}");
        }
    }

    #[test]
    fn validate_rejects_wildcards_in_topic_root() {
        let settings = MqttSettings { topic_root: "city/core".to_owned(), ..Default::default() };
        assert_eq!(settings.validate().unwrap_err().0, "mqtt.topic_root");
        let settings = MqttSettings { shared_group: "g+".to_owned(), ..Default::default() };
        assert_eq!(settings.validate().unwrap_err().0, "mqtt.shared_group");
    }

    #[test]
    fn redacted_hides_the_password() {
        let settings =
            MqttSettings { password: Secret("broker-password".to_owned()), ..Default::default() };
        let shown = toml::to_string(&settings.redacted()).unwrap();
        assert!(!shown.contains("broker-password"), "{shown}");
        assert!(shown.contains("password = \"***\""), "{shown}");
    }
}
