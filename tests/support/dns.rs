//! A DNS server on loopback for the hand-over tests: real wire format over UDP,
//! serving what the test says the tenant published.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::CNAME;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// What the loopback server holds for a name.
#[derive(Clone)]
pub enum Served {
    Cname(String),
    ServFail,
}

/// A DNS server on 127.0.0.1 (UDP, the wire format): CNAMEs it was told, NXDOMAIN
/// for the rest, SERVFAIL where asked.
pub struct LoopbackDns {
    pub address: SocketAddr,
    zone: Arc<Mutex<HashMap<String, Served>>>,
    pub queries: Arc<AtomicUsize>,
}

impl LoopbackDns {
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind dns");
        let address = socket.local_addr().unwrap();
        let zone: Arc<Mutex<HashMap<String, Served>>> = Arc::default();
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

    pub fn serve(&self, name: &str, served: Served) {
        self.zone.lock().unwrap().insert(key(name), served);
    }

    pub fn clear(&self) {
        self.zone.lock().unwrap().clear();
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn answer(query: &Message, zone: &HashMap<String, Served>) -> Message {
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
    match zone.get(&key(&question.name().to_ascii())) {
        None => {
            answer.set_response_code(ResponseCode::NXDomain);
        }
        Some(Served::ServFail) => {
            answer.set_response_code(ResponseCode::ServFail);
        }
        Some(Served::Cname(target)) => {
            if question.query_type() == RecordType::CNAME {
                let target = Name::from_ascii(format!("{target}.")).unwrap();
                answer.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::CNAME(CNAME(target)),
                ));
            }
        }
    }
    answer
}
