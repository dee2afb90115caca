//! The e-mail channel: one plain-text message per recipient with an e-mail address,
//! relayed by a configured SMTP server.
//!
//! [`super::delivery`] claims, retries and records, and this module only sends. Each
//! message has a single `To` address and no `Cc` or `Bcc`, so it never contains another
//! resident's address. The `Message-ID` is built from the notice and resident ids, the
//! same on every attempt, so that a copy sent again after a crash can be recognised.
//! A 2xx reply counts as sent. A 4xx reply, a timeout or a failed connection is retried.
//! A 5xx reply is final, and its text becomes the delivery's `last_error`, with the
//! recipient's address masked.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox,
        header::{ContentType, Header, HeaderName, HeaderValue},
    },
    transport::smtp::authentication::Credentials,
};

use super::delivery::{Channel, Claimed, Outcome, RetryPolicy, Transport};
use crate::{
    config::{NoticeSettings, SmtpTls},
    residents::{Keyring, crypto::Field, identity::mask_email},
};

/// The e-mail channel: an SMTP client that opens one connection per message.
#[derive(Clone)]
pub struct EmailTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    policy: RetryPolicy,
}

/// Setting up the SMTP client failed.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("notices.smtp_from is not an e-mail address: {0}")]
    From(#[from] lettre::address::AddressError),
    #[error("TLS for notices.smtp_host cannot be set up: {0}")]
    Tls(#[from] lettre::transport::smtp::Error),
}

impl EmailTransport {
    /// Builds the SMTP client from the `smtp_*` settings.
    ///
    /// # Errors
    /// A sender that is not an address, or a host name TLS cannot be set up for.
    pub fn new(settings: &NoticeSettings) -> Result<EmailTransport, SmtpSetupError> {
        let from: Mailbox = settings.smtp_from.parse()?;
        let host = settings.smtp_host.as_str();
        let builder = match settings.smtp_tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        let timeout = Duration::from_secs(settings.smtp_timeout_seconds.max(1));
        let mut builder = builder.port(settings.smtp_port).timeout(Some(timeout));
        if !settings.smtp_username.is_empty() {
            let password = settings.smtp_password.0.clone();
            builder =
                builder.credentials(Credentials::new(settings.smtp_username.clone(), password));
        }
        let policy = RetryPolicy {
            max_attempts: settings.smtp_max_attempts,
            retry_seconds: settings.smtp_retry_seconds,
            concurrency: settings.smtp_concurrency,
        };
        Ok(EmailTransport { mailer: builder.build(), from, policy })
    }

    /// Builds the message of one delivery to `to`.
    fn message(&self, row: &Claimed, to: Mailbox) -> Result<Message, lettre::error::Error> {
        let urgent = row.priority == "urgent";
        let subject =
            if urgent { format!("【紧急 Urgent】{}", row.title) } else { row.title.clone() };
        let priority_line = if urgent {
            "优先级 Priority：紧急 Urgent"
        } else {
            "优先级 Priority：普通 Normal"
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id(row, &self.from)))
            .header(ContentType::TEXT_PLAIN)
            .header(Importance(if urgent { "high" } else { "normal" }))
            .body(format!("{priority_line}\n\n{}\n", row.body))
    }
}

impl Transport for EmailTransport {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn policy(&self) -> RetryPolicy {
        self.policy
    }

    async fn send(&self, keys: &Keyring, row: &Claimed) -> Outcome {
        let address =
            match row.email_sealed.as_deref().map(|sealed| keys.open(Field::Email, sealed)) {
                Some(Ok(address)) => address,
                Some(Err(error)) => {
                    return Outcome::Failed(format!("e-mail address cannot be opened: {error}"));
                }
                None => return Outcome::Failed("the resident has no e-mail address".to_owned()),
            };
        let Ok(to) = address.parse::<Mailbox>() else {
            return Outcome::Failed("the stored e-mail address is not valid".to_owned());
        };
        let message = match self.message(row, to) {
            Ok(message) => message,
            Err(error) => return Outcome::Failed(format!("message could not be built: {error}")),
        };
        match self.mailer.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(error) => classify(&error, &address),
        }
    }
}

/// Reply codes of a rejected login (RFC 4954): authentication required, mechanism too
/// weak, credentials invalid, encryption required.
const AUTH_REPLY_CODES: [&str; 4] = ["530", "534", "535", "538"];

/// Sorts an SMTP failure into a retry or a final failure, with a text that names no
/// address: the server's reply often quotes the recipient.
fn classify(error: &lettre::transport::smtp::Error, address: &str) -> Outcome {
    let text = without_address(&error.to_string(), address);
    let code = error.status().map(|code| code.to_string());
    if code.as_deref().is_some_and(|code| AUTH_REPLY_CODES.contains(&code)) {
        // A rejected login is the sender's setting, not the recipient: retry, so that the
        // notice still goes out once smtp_username or smtp_password is fixed.
        Outcome::Retry(format!(
            "SMTP server rejected the login ({text}); check smtp_username and smtp_password"
        ))
    } else if error.is_permanent() {
        // NOTE: another 5xx reply to the greeting also fails the recipient at once,
        // because lettre does not say which command failed.
        Outcome::Failed(format!("SMTP server rejected the message: {text}"))
    } else if error.is_transient() {
        Outcome::Retry(format!("SMTP server deferred the message: {text}"))
    } else if error.is_timeout() {
        Outcome::Retry("SMTP server timed out".to_owned())
    } else {
        Outcome::Retry(format!("SMTP connection failed: {text}"))
    }
}

/// Replaces each occurrence of `address` in `text`, in any letter case, by its masked form.
fn without_address(text: &str, address: &str) -> String {
    let masked = mask_email(address);
    let lower = text.to_ascii_lowercase();
    let address = address.to_ascii_lowercase();
    if address.is_empty() {
        return text.to_owned();
    }
    let mut result = String::with_capacity(text.len());
    let mut rest = 0;
    // ASCII lower-casing keeps every byte offset, so offsets in `lower` are valid in `text`.
    for (start, _) in lower.match_indices(&address) {
        result.push_str(&text[rest..start]);
        result.push_str(&masked);
        rest = start + address.len();
    }
    result.push_str(&text[rest..]);
    result
}

/// Returns the `Message-ID` of a delivery: stable across attempts, unique per notice and
/// resident, under the sender's domain.
fn message_id(row: &Claimed, from: &Mailbox) -> String {
    format!(
        "<notice-{}.resident-{}.citycore@{}>",
        row.notice_id,
        row.resident_id,
        from.email.domain()
    )
}

/// The `Importance` header (RFC 2156), which mail clients show as a flag on urgent notices.
#[derive(Debug, Clone)]
struct Importance(&'static str);

impl Header for Importance {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Importance")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        match text.trim() {
            "high" => Ok(Importance("high")),
            "low" => Ok(Importance("low")),
            _ => Ok(Importance("normal")),
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_address_masks_every_case_of_the_address() {
        let reply = "550 5.1.1 <Zhang@Example.com>: user unknown (zhang@example.com)";
        let text = without_address(reply, "zhang@example.com");
        assert!(!text.to_ascii_lowercase().contains("zhang@"), "{text}");
        assert_eq!(text, "550 5.1.1 <z***@example.com>: user unknown (z***@example.com)");
    }

    #[test]
    fn message_id_is_stable_per_recipient() {
        let row = Claimed {
            delivery_id: 7,
            notice_id: 3,
            resident_id: 42,
            attempts: 1,
            phone_sealed: None,
            email_sealed: None,
            title: String::new(),
            body: String::new(),
            priority: "normal".to_owned(),
        };
        let from: Mailbox = "街道 <notices@example.gov.cn>".parse().unwrap();
        assert_eq!(message_id(&row, &from), "<notice-3.resident-42.citycore@example.gov.cn>");
    }
}
