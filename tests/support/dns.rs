//! A DNS server on loopback for the hand-over and sending-record tests: real wire
//! format over UDP, serving what the test says the tenant published.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{CNAME, MX, TXT};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// What the loopback server holds for a name.
#[derive(Clone)]
pub enum Served {
    Cname(String),
    /// Preference and exchange: `Mx(10, "feedback-smtp.us-east-1.amazonses.com")`.
    Mx(u16, String),
    /// One TXT record, as its character-strings.
    Txt(Vec<String>),
    ServFail,
}

/// A DNS server on 127.0.0.1 (UDP, the wire format): the CNAME, MX and TXT records it
/// was told, NOERROR with no answer for another type at a name it knows, NXDOMAIN
/// for the rest, SERVFAIL where asked.
pub struct LoopbackDns {
    pub address: SocketAddr,
    zone: Arc<Mutex<HashMap<String, Vec<Served>>>>,
    pub queries: Arc<AtomicUsize>,
}

impl LoopbackDns {
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind dns");
        let address = socket.local_addr().unwrap();
        let zone: Arc<Mutex<HashMap<String, Vec<Served>>>> = Arc::default();
        let queries = Arc::new(AtomicUsize::new(0));
        let (held, counted) = (zone.clone(), queries.clone());
        tokio::spawn(async move {
            let mut buffer = [0u8; 1500];
            loop {
                let Ok((len, from)) = socket.recv_from(&mut buffer).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buffer[..len]) else {
                    continue;
                };
                counted.fetch_add(1, Ordering::Relaxed);
                let answer = answer(&query, &held.lock().unwrap());
                let _ = socket.send_to(&answer.to_vec().unwrap(), from).await;
            }
        });
        Self {
            address,
            zone,
            queries,
        }
    }

    /// Serve only `served` at `name` from now on.
    pub fn serve(&self, name: &str, served: Served) {
        self.zone.lock().unwrap().insert(key(name), vec![served]);
    }

    /// Serve `served` at `name` beside what is served there already.
    pub fn add(&self, name: &str, served: Served) {
        self.zone
            .lock()
            .unwrap()
            .entry(key(name))
            .or_default()
            .push(served);
    }

    pub fn clear(&self) {
        self.zone.lock().unwrap().clear();
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn answer(query: &Message, zone: &HashMap<String, Vec<Served>>) -> Message {
    let mut answer = Message::new();
    answer
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true)
        .set_authoritative(true);
    let Some(question) = query.queries().first() else {
        answer.set_response_code(ResponseCode::FormErr);
        return answer;
    };
    answer.add_query(question.clone());
    let Some(served) = zone.get(&key(&question.name().to_ascii())) else {
        answer.set_response_code(ResponseCode::NXDomain);
        return answer;
    };
    if served.iter().any(|s| matches!(s, Served::ServFail)) {
        answer.set_response_code(ResponseCode::ServFail);
        return answer;
    }
    let name = question.name().clone();
    for item in served {
        let data = match (question.query_type(), item) {
            (RecordType::CNAME, Served::Cname(target)) => {
                RData::CNAME(CNAME(Name::from_ascii(format!("{target}.")).unwrap()))
            }
            (RecordType::MX, Served::Mx(preference, exchange)) => RData::MX(MX::new(
                *preference,
                Name::from_ascii(format!("{exchange}.")).unwrap(),
            )),
            (RecordType::TXT, Served::Txt(strings)) => RData::TXT(TXT::new(strings.clone())),
            // The name exists without that type: NOERROR, no answer.
            _ => continue,
        };
        answer.add_answer(Record::from_rdata(name.clone(), 60, data));
    }
    answer
}
