//! A small Lambda Runtime API server, owned by the tests: it hands events to the real
//! compiled function (`bootstrap`) exactly as Lambda does and collects its answers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, Mutex as AsyncMutex};

const PREFIX: &str = "/2018-06-01/runtime";

/// Stop a function started with `spawn_function` and return all it wrote to stdout.
pub async fn stop_and_read_stdout(mut function: Child) -> String {
    use tokio::io::AsyncReadExt;
    function.kill().await.ok();
    let mut stdout = String::new();
    if let Some(mut out) = function.stdout.take() {
        out.read_to_string(&mut stdout).await.unwrap();
    }
    stdout
}

/// The CloudWatch Embedded Metric Format documents among a function's log lines.
pub fn metric_documents(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

/// What the function answered: its response, or its error document.
pub type Answer = Result<Value, Value>;

struct Shared {
    queue: AsyncMutex<mpsc::Receiver<(String, String)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    init_error: Mutex<Option<Value>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    sender: mpsc::Sender<(String, String)>,
    shared: Arc<Shared>,
    counter: std::sync::atomic::AtomicUsize,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime api");
        let addr = listener.local_addr().unwrap();
        let (sender, receiver) = mpsc::channel(64);
        let shared = Arc::new(Shared {
            queue: AsyncMutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let state = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                // As Lambda's own Runtime API: no Nagle, so no delayed-ACK wait per answer.
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| route(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            sender,
            shared,
            counter: Default::default(),
        }
    }

    /// Queue one event and wait for the function's answer.
    pub async fn invoke(&self, payload: &str) -> Answer {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request_id = format!("req-{n}-{}", std::process::id());
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap()
            .insert(request_id.clone(), tx);
        self.sender
            .send((request_id, payload.to_owned()))
            .await
            .expect("queue event");
        tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .expect("the function answered within 60 s")
            .expect("answer channel")
    }

    pub fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Start the compiled function against this server with the given environment.
    pub fn spawn_function(&self, env: &[(&str, String)]) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dkim-autopilot"));
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "dkim-autopilot")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The clock the tests run on is the function's too: the clock-ahead guard
        // (scripts/test-clock-ahead.sh) moves it with libfaketime, carried in these.
        for (key, value) in std::env::vars() {
            if key == "LD_PRELOAD" || key.starts_with("FAKETIME") {
                command.env(key, value);
            }
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command.spawn().expect("start the function binary")
    }
}

async fn route(
    state: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if method == hyper::Method::GET && path == format!("{PREFIX}/invocation/next") {
        let next = state.queue.lock().await.recv().await;
        let Some((request_id, payload)) = next else {
            return Ok(reply(StatusCode::GONE, ""));
        };
        let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
        let response = Response::builder()
            .status(StatusCode::OK)
            .header("Lambda-Runtime-Aws-Request-Id", &request_id)
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header("Lambda-Runtime-Invoked-Function-Arn", super::FUNCTION_ARN)
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            )
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(payload)))
            .unwrap();
        return Ok(response);
    }
    if path == format!("{PREFIX}/init/error") {
        *state.init_error.lock().unwrap() = Some(json());
        return Ok(reply(StatusCode::ACCEPTED, "{}"));
    }
    let rest = path
        .strip_prefix(&format!("{PREFIX}/invocation/"))
        .unwrap_or_default();
    if let Some((request_id, kind)) = rest.split_once('/') {
        let answer = match kind {
            "response" => Ok(json()),
            "error" => Err(json()),
            _ => return Ok(reply(StatusCode::NOT_FOUND, "")),
        };
        if let Some(tx) = state.waiting.lock().unwrap().remove(request_id) {
            let _ = tx.send(answer);
        }
        return Ok(reply(StatusCode::ACCEPTED, "{}"));
    }
    Ok(reply(StatusCode::NOT_FOUND, ""))
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
