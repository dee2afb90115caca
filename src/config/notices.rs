//! Settings of the notice channels (`[notices]`).

use serde::{Deserialize, Serialize};

use super::Secret;

/// Delivery of notices outside the residents' inboxes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NoticeSettings {
    /// Gateway that receives one JSON `POST` per recipient with a phone number, such as
    /// an SMS or WeCom gateway; empty turns the webhook channel off.
    pub webhook_url: String,
    /// Key of the `X-Citycore-Signature` header, the hex HMAC-SHA256 of the body;
    /// empty sends no signature.
    pub webhook_secret: Secret,
    /// Seconds after which a request with no response from the gateway counts as failed.
    pub webhook_timeout_seconds: u64,
    /// Attempts per recipient before the delivery is marked failed.
    pub webhook_max_attempts: i32,
    /// Wait before the first retry, in seconds; it doubles with each further attempt,
    /// up to an hour.
    pub webhook_retry_seconds: u64,
    /// Requests in flight to the gateway at once.
    pub webhook_concurrency: usize,
    /// SMTP server that relays one e-mail per recipient with an e-mail address; empty
    /// turns the e-mail channel off.
    pub smtp_host: String,
    /// Port of the SMTP server: usually 587 for STARTTLS, 465 for TLS, 25 without.
    pub smtp_port: u16,
    /// How the connection to the SMTP server is encrypted.
    pub smtp_tls: SmtpTls,
    /// User name for SMTP authentication; empty sends no credentials.
    pub smtp_username: String,
    pub smtp_password: Secret,
    /// Sender of the messages, an address or `Name <address>`, such as
    /// `春望街道办事处 <notices@example.gov.cn>`; required when `smtp_host` is set.
    pub smtp_from: String,
    /// Seconds after which an SMTP command with no reply counts as failed.
    pub smtp_timeout_seconds: u64,
    /// Attempts per recipient before the delivery is marked failed.
    pub smtp_max_attempts: i32,
    /// Wait before the first retry, in seconds; it doubles with each further attempt,
    /// up to an hour.
    pub smtp_retry_seconds: u64,
    /// SMTP connections open at once, one message each.
    pub smtp_concurrency: usize,
}

/// Encryption of the SMTP connection.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text, for a relay on the same host or a trusted network only.
    None,
    /// Plain connection upgraded with `STARTTLS`; a server that does not offer it fails.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        Self {
            webhook_url: String::new(),
            webhook_secret: Secret::default(),
            webhook_timeout_seconds: 10,
            webhook_max_attempts: 5,
            webhook_retry_seconds: 30,
            webhook_concurrency: 16,
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            smtp_from: String::new(),
            smtp_timeout_seconds: 30,
            smtp_max_attempts: 5,
            smtp_retry_seconds: 60,
            smtp_concurrency: 4,
        }
    }
}

impl NoticeSettings {
    /// Returns a copy with the secrets replaced by `***`, for `citycore config show`.
    pub fn redacted(&self) -> Self {
        let hide = |secret: &Secret| {
            Secret(if secret.0.is_empty() { String::new() } else { "***".to_owned() })
        };
        Self {
            webhook_secret: hide(&self.webhook_secret),
            smtp_password: hide(&self.smtp_password),
            ..self.clone()
        }
    }

    /// Reports whether notices go out over the webhook.
    pub fn webhook_enabled(&self) -> bool {
        !self.webhook_url.is_empty()
    }

    /// Reports whether notices go out by e-mail.
    pub fn email_enabled(&self) -> bool {
        !self.smtp_host.is_empty()
    }

    /// Checks the e-mail settings that parse but cannot work.
    ///
    /// # Errors
    /// The key and the reason of the first bad value.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !self.email_enabled() {
            return Ok(());
        }
        if self.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err((
                "notices.smtp_from",
                "must be an e-mail address such as notices@example.gov.cn when smtp_host is set",
            ));
        }
        if self.smtp_port == 0 || self.smtp_max_attempts < 1 || self.smtp_concurrency == 0 {
            return Err((
                "notices.smtp_port",
                "the port, smtp_max_attempts and smtp_concurrency must be at least 1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_hides_both_secrets() {
        let settings = NoticeSettings {
            webhook_secret: Secret("gateway-key".to_owned()),
            smtp_password: Secret("mail-password".to_owned()),
            ..NoticeSettings::default()
        };
        let shown = toml::to_string(&settings.redacted()).unwrap();
        assert!(!shown.contains("gateway-key"), "{shown}");
        assert!(!shown.contains("mail-password"), "{shown}");
        assert!(shown.contains("smtp_password = \"***\""), "{shown}");
    }

    #[test]
    fn validate_requires_a_sender_when_smtp_is_on() {
        let mut settings =
            NoticeSettings { smtp_host: "127.0.0.1".to_owned(), ..Default::default() };
        assert_eq!(settings.validate().unwrap_err().0, "notices.smtp_from");
        settings.smtp_from = "春望街道 <notices@example.gov.cn>".to_owned();
        assert_eq!(settings.validate(), Ok(()));
        settings.smtp_concurrency = 0;
        assert!(settings.validate().is_err());
    }
}
