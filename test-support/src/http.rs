//! An HTTP/1.1 server on loopback that keeps every request it receives: the
//! far end of `api.fetch` and of webhooks in tests.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An HTTP/1.1 server on 127.0.0.1, serving until the runtime that started
/// it ends. It reads each request whole (head, then a body of its
/// `Content-Length`), keeps its text, then writes the response that the
/// `answer` it was started with makes of that text.
#[derive(Clone, Debug)]
pub struct LoopbackHttp {
    /// The port it listens on.
    pub port: u16,
    /// The text of every request received (head and body), in the order
    /// they were read whole.
    pub received: Arc<Mutex<Vec<String>>>,
}

impl LoopbackHttp {
    /// Starts it on the current tokio runtime. `answer` gets a request's text
    /// and returns the whole response: status line, headers and body.
    pub async fn start(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&received);
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                let answer = Arc::clone(&answer);
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    let response = answer(&request);
                    seen.lock().expect("lock").push(request);
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        Self { port, received }
    }

    /// The bodies of the requests received so far, in order.
    pub fn bodies(&self) -> Vec<String> {
        self.received
            .lock()
            .expect("lock")
            .iter()
            .map(|request| {
                request
                    .split_once("\r\n\r\n")
                    .map_or("", |(_, body)| body)
                    .to_owned()
            })
            .collect()
    }
}

/// One request's text, once its head and its `Content-Length` of body have
/// arrived; `None` when the connection fails or ends before that.
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|value| value.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buffer.len() >= head_end + 4 + length {
                return Some(text);
            }
        }
    }
}
