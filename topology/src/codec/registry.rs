//! A small client for the Confluent Schema Registry REST API (also served by Karapace, Apicurio's
//! `ccompat` endpoint and Redpanda): register a schema under a subject, fetch a schema by id.
//!
//! Invariant: every request carries `Content-Type`/`Accept: application/vnd.schemaregistry.v1+json`
//! and a timeout; transport and server failures become [`Error::Registry`] (retryable), while
//! "this id does not exist" becomes [`Error::UnknownSchemaId`] (a fact about the record).

use crate::error::{Error, Result};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The registry's media type.
pub const MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Accepted response types, most specific first.
const ACCEPT_TYPES: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";

/// Whole-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A schema registry at one base URL.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
}

#[derive(Serialize)]
struct RegisterRequest<'a> {
    schema: &'a str,
}

#[derive(Deserialize)]
struct RegisterResponse {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaResponse {
    schema: String,
    /// Absent means AVRO.
    #[serde(default, rename = "schemaType")]
    schema_type: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    message: String,
}

impl RegistryClient {
    /// A client for the registry at `url`, e.g. `http://localhost:8081`.
    pub fn new(url: &str) -> Result<RegistryClient> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(format!("schema registry URL {url:?} is not http(s)")));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::Registry(format!("cannot build HTTP client: {e}")))?;
        Ok(RegistryClient { base, http })
    }

    /// Registers `schema` (Avro JSON text) under `subject`; returns its global id. Registering a
    /// schema the subject already has returns the existing id.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32> {
        // Subjects are `<topic>-value`; Kafka topic names use only [a-zA-Z0-9._-], all of which
        // are legal in a URL path segment unescaped.
        let url = format!("{}/subjects/{subject}/versions", self.base);
        let body = serde_json::to_vec(&RegisterRequest { schema })
            .map_err(|e| Error::Registry(format!("cannot encode request: {e}")))?;
        let request = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, MEDIA_TYPE)
            .header(ACCEPT, ACCEPT_TYPES)
            .body(body);
        let (status, bytes) = send(request, &url).await?;
        let response: RegisterResponse = parse(status, &bytes, &url)?;
        Ok(response.id)
    }

    /// Fetches the Avro schema text with global id `id`.
    pub async fn schema_by_id(&self, id: u32) -> Result<String> {
        let url = format!("{}/schemas/ids/{id}", self.base);
        let request = self.http.get(&url).header(ACCEPT, ACCEPT_TYPES);
        let (status, bytes) = send(request, &url).await?;
        if status == StatusCode::NOT_FOUND {
            // Error 40403: no schema has this id. The record, not the registry, is at fault.
            return Err(Error::UnknownSchemaId(id));
        }
        let response: SchemaResponse = parse(status, &bytes, &url)?;
        match response.schema_type.as_deref() {
            None | Some("AVRO") => Ok(response.schema),
            Some(other) => {
                Err(Error::Undecodable(format!("schema id {id} is a {other} schema, not Avro")))
            }
        }
    }
}

/// Sends a request; only transport failures are errors here.
async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<(StatusCode, Vec<u8>)> {
    let response = request.send().await.map_err(|e| Error::Registry(format!("{url}: {e}")))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::Registry(format!("{url}: reading response: {e}")))?;
    Ok((status, bytes.to_vec()))
}

/// Parses a success response, or turns an error response into [`Error::Registry`] with the
/// registry's message (`{"error_code": ..., "message": ...}`).
fn parse<T: serde::de::DeserializeOwned>(status: StatusCode, bytes: &[u8], url: &str) -> Result<T> {
    if !status.is_success() {
        let message = serde_json::from_slice::<ErrorResponse>(bytes)
            .map(|e| e.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(bytes).chars().take(200).collect());
        return Err(Error::Registry(format!("HTTP {} from {url}: {message}", status.as_u16())));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Registry(format!("{url}: unexpected response: {e}")))
}

#[cfg(test)]
pub(crate) mod mock {
    //! An in-memory registry speaking the same REST API, for tests.

    use super::MEDIA_TYPE;
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, post};
    use axum::Router;
    use std::sync::{Arc, Mutex};

    /// Registered schema texts; the id is the index + 1, as in Confluent (one id per text).
    #[derive(Clone, Default)]
    pub struct MockRegistry {
        pub schemas: Arc<Mutex<Vec<String>>>,
    }

    type Reply = (StatusCode, String);

    async fn register(
        State(reg): State<MockRegistry>,
        Path(_subject): Path<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Reply {
        if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some(MEDIA_TYPE) {
            return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}".into());
        }
        let Ok(req) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return (StatusCode::UNPROCESSABLE_ENTITY, r#"{"error_code":42201}"#.into());
        };
        let text = req["schema"].as_str().unwrap_or_default().to_owned();
        let mut schemas = reg.schemas.lock().expect("lock");
        let id = match schemas.iter().position(|s| *s == text) {
            Some(i) => i + 1,
            None => {
                schemas.push(text);
                schemas.len()
            }
        };
        // Offset ids so they never coincide with the bundled ones.
        (StatusCode::OK, format!(r#"{{"id":{}}}"#, id + 100))
    }

    async fn by_id(State(reg): State<MockRegistry>, Path(id): Path<usize>) -> Reply {
        let schemas = reg.schemas.lock().expect("lock");
        match id.checked_sub(101).and_then(|i| schemas.get(i)) {
            Some(s) => (StatusCode::OK, serde_json::json!({ "schema": s }).to_string()),
            None => (
                StatusCode::NOT_FOUND,
                r#"{"error_code":40403,"message":"Schema not found"}"#.into(),
            ),
        }
    }

    /// Serves a mock registry on an ephemeral port; returns its URL.
    pub async fn serve(reg: MockRegistry) -> String {
        let app = Router::new()
            .route("/subjects/{subject}/versions", post(register))
            .route("/schemas/ids/{id}", get(by_id))
            .with_state(reg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn registers_and_fetches() {
        let url = mock::serve(mock::MockRegistry::default()).await;
        let client = RegistryClient::new(&url).expect("client");
        let a = client.register("t-value", r#""string""#).await.expect("register");
        let again = client.register("u-value", r#""string""#).await.expect("register");
        let b = client.register("t-value", r#""long""#).await.expect("register");
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_eq!(client.schema_by_id(b).await.expect("fetch"), r#""long""#);
        assert!(matches!(client.schema_by_id(7).await, Err(Error::UnknownSchemaId(7))));
    }

    #[tokio::test]
    async fn unreachable_registry_is_a_registry_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let client = RegistryClient::new(&url).expect("client");
        let err = client.register("t-value", "{}").await.expect_err("unreachable");
        assert!(matches!(err, Error::Registry(_)) && err.retryable(), "{err}");
        assert!(matches!(RegistryClient::new("localhost:8081"), Err(Error::Config(_))));
    }
}
