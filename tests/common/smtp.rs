//! A real SMTP server for the email tests: aiosmtpd (PyPI, installed by `.ci/run`) with the handler
//! `tests/smtp/json_dir.py`, which writes each message it receives, decoded, as a JSON file. Included with
//! `#[path = "common/smtp.rs"] mod smtp;`.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running aiosmtpd and the folder its messages land in.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    folder: PathBuf,
}

/// A free local port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    /// Starts aiosmtpd on `port` and waits until it accepts connections.
    pub async fn start_on(port: u16) -> Self {
        let folder = std::env::temp_dir().join(format!("ykien-smtp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let handlers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp");
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "json_dir.JsonDir",
            ])
            .arg(&folder)
            .env("PYTHONPATH", handlers)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd==1.4.6; .ci/run installs it)");
        let server = Self { child, port, folder };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on port {port}; is it installed (pip install aiosmtpd==1.4.6)?");
    }

    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, in no particular order.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut messages = Vec::new();
        for entry in std::fs::read_dir(&self.folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                messages.push(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap());
            }
        }
        messages
    }

    /// Waits (up to 20 s) for a message to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> serde_json::Value {
        for _ in 0..400 {
            if let Some(m) = self.messages().into_iter().find(|m| {
                m["rcpt_tos"].as_array().unwrap().iter().any(|r| r == to)
                    && m["subject"].as_str().unwrap_or_default().contains(subject)
            }) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message to {to} about «{subject}»; received: {:?}", self.messages());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
