//! The topic scheme: where devices and gateways publish and where errors go back.

/// The sender a reading topic names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// `{root}/v1/devices/{external_id}/readings`
    Device(String),
    /// `{root}/v1/gateways/{name}/readings`, `name` being the gateway key's name.
    Gateway(String),
}

impl Sender {
    /// Builds the topic where the reasons of rejected items go back to this sender.
    pub fn errors_topic(&self, root: &str) -> String {
        match self {
            Sender::Device(id) => format!("{root}/v1/devices/{id}/errors"),
            Sender::Gateway(name) => format!("{root}/v1/gateways/{name}/errors"),
        }
    }

    /// Returns the device id or gateway name, for logs.
    pub fn name(&self) -> &str {
        match self {
            Sender::Device(name) | Sender::Gateway(name) => name,
        }
    }
}

/// Builds the two subscription filters, inside `$share/{group}/` when a group is set.
pub fn filters(root: &str, shared_group: &str) -> [String; 2] {
    let share =
        if shared_group.is_empty() { String::new() } else { format!("$share/{shared_group}/") };
    [
        format!("{share}{root}/v1/devices/+/readings"),
        format!("{share}{root}/v1/gateways/+/readings"),
    ]
}

/// Reads the sender from a reading topic, or `None` for any other topic.
pub fn parse(root: &str, topic: &str) -> Option<Sender> {
    let rest = topic.strip_prefix(root)?.strip_prefix("/v1/")?;
    let mut levels = rest.split('/');
    let (kind, name, last) = (levels.next()?, levels.next()?, levels.next()?);
    if last != "readings" || levels.next().is_some() || name.is_empty() {
        return None;
    }
    match kind {
        "devices" => Some(Sender::Device(name.to_owned())),
        "gateways" => Some(Sender::Gateway(name.to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_device_and_gateway_topics() {
        let cases = [
            ("citycore/v1/devices/bin-1/readings", Some(Sender::Device("bin-1".into()))),
            ("citycore/v1/gateways/gw/readings", Some(Sender::Gateway("gw".into()))),
            ("citycore/v1/devices/bin-1/errors", None),
            ("citycore/v1/devices//readings", None),
            ("citycore/v1/devices/a/b/readings", None),
            ("other/v1/devices/bin-1/readings", None),
            ("citycorex/v1/devices/bin-1/readings", None),
        ];
        for (topic, expected) in cases {
            assert_eq!(parse("citycore", topic), expected, "topic {topic}");
        }
    }

    #[test]
    fn filters_use_share_prefix_only_with_a_group() {
        assert_eq!(filters("c", "")[0], "c/v1/devices/+/readings");
        assert_eq!(filters("c", "ingest")[1], "$share/ingest/c/v1/gateways/+/readings");
    }

    #[test]
    fn errors_topic_mirrors_the_readings_topic() {
        assert_eq!(Sender::Device("d1".into()).errors_topic("c"), "c/v1/devices/d1/errors");
        assert_eq!(Sender::Gateway("g".into()).errors_topic("c"), "c/v1/gateways/g/errors");
    }
}
