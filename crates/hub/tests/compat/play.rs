//! Plays `exchanges.json` (what Pigeon 0.1's client sends in one conversation) against a
//! hub and keeps each answer: used by `tests/compat.rs` against this build's hub and by
//! `examples/record_compat.rs` to record a release's answers as a fixture.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, Deserialize)]
pub struct Exchanges {
    pub exchanges: Vec<Exchange>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Exchange {
    #[serde(rename = "as")]
    pub user: String,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub json: Option<Value>,
    #[serde(default)]
    pub bytes: Option<String>,
    /// Values to keep from the answer (JSON pointers), for later paths and bodies.
    #[serde(default)]
    pub capture: HashMap<String, String>,
}

/// One answer as a hub gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub method: String,
    /// The path as the exchange spells it (before values were put in).
    pub path: String,
    pub status: u16,
    pub content_type: Option<String>,
    /// The JSON body, when it was JSON.
    pub json: Option<Value>,
}

/// A release's recorded answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Recording {
    pub release: String,
    pub answers: Vec<Answer>,
}

pub fn exchanges() -> Vec<Exchange> {
    let text = include_str!("exchanges.json");
    serde_json::from_str::<Exchanges>(text)
        .expect("exchanges.json")
        .exchanges
}

fn fill(text: &str, values: &HashMap<String, String>) -> String {
    values.iter().fold(text.to_string(), |t, (k, v)| {
        t.replace(&format!("${{{k}}}"), v)
    })
}

fn fill_json(value: &Value, values: &HashMap<String, String>) -> Value {
    serde_json::from_str(&fill(&value.to_string(), values)).expect("filled JSON")
}

/// Plays every exchange in order as the 0.1 client did (bearer token, no protocol header).
pub async fn play(base: &str, tokens: &HashMap<String, String>) -> Vec<Answer> {
    let http = reqwest::Client::new();
    let mut values: HashMap<String, String> = HashMap::new();
    let mut answers = Vec::new();
    for e in exchanges() {
        let url = format!("{base}{}", fill(&e.path, &values));
        let method = reqwest::Method::from_bytes(e.method.as_bytes()).unwrap();
        let mut req = http.request(method, url).bearer_auth(&tokens[&e.user]);
        if let Some(json) = &e.json {
            req = req.json(&fill_json(json, &values));
        }
        if let Some(bytes) = &e.bytes {
            values.insert(
                "bytes_sha256".into(),
                hex::encode(Sha256::digest(bytes.as_bytes())),
            );
            req = req.body(bytes.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.unwrap();
        let json = content_type
            .as_deref()
            .filter(|ct| ct.starts_with("application/json"))
            .and_then(|_| serde_json::from_slice::<Value>(&body).ok());
        for (name, pointer) in &e.capture {
            let v = json
                .as_ref()
                .and_then(|j| j.pointer(pointer))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{} {}: no {pointer} to keep", e.method, e.path));
            values.insert(name.clone(), v.to_string());
        }
        answers.push(Answer {
            method: e.method.clone(),
            path: e.path.clone(),
            status,
            content_type,
            json,
        });
    }
    answers
}
