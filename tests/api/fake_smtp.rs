//! A fake SMTP server on 127.0.0.1 for the e-mail channel's tests.
//!
//! It speaks just enough SMTP for lettre without TLS or authentication: the greeting,
//! EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT. It replies to RCPT with 451 the first
//! time for the addresses in `defer_once`, with 550 always for those in `reject`, and
//! with 250 otherwise, and records every RCPT and every accepted message. While
//! [`FakeSmtp::require_login`] is on, it replies to MAIL with 530, as a server does to a
//! sender that did not log in.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// A message the server accepted: the envelope and the raw data after DATA.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub recipients: Vec<String>,
    pub data: String,
}

#[derive(Debug, Default)]
struct Log {
    rcpt_attempts: Vec<String>,
    deferred: HashSet<String>,
    accepted: Vec<Accepted>,
}

/// A running fake server, which stops with the test's runtime.
#[derive(Clone)]
pub struct FakeSmtp {
    pub address: SocketAddr,
    defer_once: Arc<HashSet<String>>,
    reject: Arc<HashSet<String>>,
    login_required: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
}

impl FakeSmtp {
    /// Starts the server on a free loopback port.
    pub async fn start(defer_once: &[&str], reject: &[&str]) -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake SMTP");
        let server = FakeSmtp {
            address: listener.local_addr().unwrap(),
            defer_once: Arc::new(defer_once.iter().map(|a| (*a).to_owned()).collect()),
            reject: Arc::new(reject.iter().map(|a| (*a).to_owned()).collect()),
            login_required: Arc::default(),
            log: Arc::default(),
        };
        let accepting = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let session = accepting.clone();
                tokio::spawn(async move { session.serve(stream).await });
            }
        });
        server
    }

    /// Turns the 530 reply to MAIL on or off.
    pub fn require_login(&self, on: bool) {
        self.login_required.store(on, Ordering::SeqCst);
    }

    /// Returns the messages accepted so far.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.log.lock().unwrap().accepted.clone()
    }

    /// Counts the RCPT commands naming `address`, whatever the reply.
    pub fn rcpt_attempts(&self, address: &str) -> usize {
        self.log.lock().unwrap().rcpt_attempts.iter().filter(|a| *a == address).count()
    }

    async fn serve(self, stream: TcpStream) {
        let (reader, mut writer) = stream.into_split();
        let mut lines = BufReader::new(reader);
        let mut recipients = Vec::new();
        if writer.write_all(b"220 fake.test ESMTP\r\n").await.is_err() {
            return;
        }
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_owned();
            let verb = command.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
            let reply = match verb.as_str() {
                "EHLO" => "250-fake.test\r\n250 8BITMIME\r\n".to_owned(),
                "HELO" | "NOOP" => "250 OK\r\n".to_owned(),
                "MAIL" if self.login_required.load(Ordering::SeqCst) => {
                    "530 5.7.0 Authentication required\r\n".to_owned()
                }
                "MAIL" | "RSET" => {
                    recipients.clear();
                    "250 OK\r\n".to_owned()
                }
                "RCPT" => self.rcpt(&command, &mut recipients),
                "DATA" => {
                    if writer.write_all(b"354 end with .\r\n").await.is_err() {
                        return;
                    }
                    let Some(data) = read_data(&mut lines).await else { return };
                    let message = Accepted { recipients: std::mem::take(&mut recipients), data };
                    self.log.lock().unwrap().accepted.push(message);
                    "250 2.0.0 queued\r\n".to_owned()
                }
                "QUIT" => {
                    let _ = writer.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => "502 command not implemented\r\n".to_owned(),
            };
            if writer.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    fn rcpt(&self, command: &str, recipients: &mut Vec<String>) -> String {
        let address = command
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(address, _)| address.to_owned())
            .unwrap_or_default();
        let mut log = self.log.lock().unwrap();
        log.rcpt_attempts.push(address.clone());
        if self.reject.contains(&address) {
            return format!("550 5.1.1 <{address}>: mailbox unavailable\r\n");
        }
        if self.defer_once.contains(&address) && log.deferred.insert(address.clone()) {
            return format!("451 4.3.0 <{address}>: try again later\r\n");
        }
        recipients.push(address);
        "250 OK\r\n".to_owned()
    }
}

/// Reads the lines after DATA up to the lone dot, undoing dot-stuffing.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == ".\r\n" {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}
