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
    /// Broker address, `mqtt://HOST:PORT` (or `tcp://`); TLS is not supported yet.
    pub url: String,
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

impl Default for MqttSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            url: "mqtt://127.0.0.1:1883".to_owned(),
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

    /// Splits `url` into host and port.
    ///
    /// # Errors
    /// The reason when the scheme is not `mqtt://` or `tcp://`, or the port is invalid.
    pub fn broker_address(&self) -> Result<(String, u16), &'static str> {
        let rest = self
            .url
            .strip_prefix("mqtt://")
            .or_else(|| self.url.strip_prefix("tcp://"))
            .ok_or("must start with mqtt:// or tcp://; TLS brokers are not supported yet")?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                (host, port.parse::<u16>().map_err(|_| "the port must be a number 1-65535")?)
            }
            None => (rest, 1883),
        };
        if host.is_empty() || port == 0 {
            return Err("must name a host, such as mqtt://127.0.0.1:1883");
        }
        Ok((host.to_owned(), port))
    }

    /// Checks the values that parse but cannot work, whether or not MQTT is enabled.
    ///
    /// # Errors
    /// The key and the reason of the first bad value.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        self.broker_address().map_err(|reason| ("mqtt.url", reason))?;
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

    #[test]
    fn broker_address_reads_host_and_port() {
        let with = |url: &str| MqttSettings { url: url.to_owned(), ..Default::default() };
        assert_eq!(with("mqtt://127.0.0.1:1883").broker_address(), Ok(("127.0.0.1".into(), 1883)));
        assert_eq!(with("tcp://broker").broker_address(), Ok(("broker".into(), 1883)));
        assert!(with("mqtts://broker:8883").broker_address().is_err());
        assert!(with("mqtt://broker:port").broker_address().is_err());
        assert!(with("mqtt://:1883").broker_address().is_err());
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
