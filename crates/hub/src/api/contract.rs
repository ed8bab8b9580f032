//! The API's contract: an OpenAPI 3.1 document of every route of the table, built from
//! the wire types the handlers take and return (their JSON Schemas come from the types
//! themselves) and served at [`routes::OPENAPI`]. What each route answers lives in one
//! match ([`operation`]), beside the router's match of handlers; a test checks that both
//! cover the same table, and CI checks the live hub's answers against this document.

use pigeon_protocol::{
    routes, ApiError, BlobRef, BlobStatus, HubVersion, InboxPage, Limits, Message, MessageStatus,
    NewBlob, NewMessage, NewRecord, Profile, ProfileUpdate, Record, SealBlob, PROTOCOL_HEADER,
};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder,
};
use utoipa::{IntoParams, ToSchema};

use super::blobs::ChunkQuery;
use super::inbox::InboxParams;

/// The name of the bearer-token scheme in the document.
const BEARER: &str = "token";

/// The schemas the operations refer to, gathered as they are built.
#[derive(Default)]
struct Schemas(Vec<(String, RefOr<Schema>)>);

impl Schemas {
    /// A reference to `T`'s schema, registering it and every schema it refers to.
    fn of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        T::schemas(&mut self.0);
        self.0.push((T::name().into_owned(), T::schema()));
        Ref::from_schema_name(T::name()).into()
    }

    /// An array of `T`.
    fn list_of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        ArrayBuilder::new().items(self.of::<T>()).into()
    }
}

/// What a route answers, gathered before it becomes an [`Operation`].
struct Op {
    builder: OperationBuilder,
    /// The statuses described so far: a failure shared by many routes does not replace
    /// a route's own description of the same status.
    statuses: Vec<u16>,
}

impl Op {
    fn new(id: &str, summary: &str) -> Self {
        Op {
            builder: OperationBuilder::new()
                .operation_id(Some(id))
                .summary(Some(summary)),
            statuses: Vec::new(),
        }
    }

    fn json_body(mut self, schema: RefOr<Schema>) -> Self {
        self.builder = self.builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", Content::new(Some(schema)))
                .build(),
        ));
        self
    }

    fn bytes_body(mut self, what: &str) -> Self {
        self.builder = self.builder.request_body(Some(
            RequestBodyBuilder::new()
                .description(Some(what))
                .required(Some(Required::True))
                .content("application/octet-stream", Content::new(Some(binary())))
                .build(),
        ));
        self
    }

    fn query<P: IntoParams>(mut self) -> Self {
        for p in P::into_params(|| Some(ParameterIn::Query)) {
            self.builder = self.builder.parameter(p);
        }
        self
    }

    fn header(mut self, name: &str, what: &str) -> Self {
        self.builder = self.builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(what))
                .schema(Some(text())),
        );
        self
    }

    /// An answer with a body of `content_type`.
    fn answer(
        mut self,
        status: u16,
        what: &str,
        content_type: &str,
        schema: RefOr<Schema>,
    ) -> Self {
        self.statuses.push(status);
        self.builder = self.builder.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(what)
                .content(content_type, Content::new(Some(schema))),
        );
        self
    }

    fn json(self, status: u16, what: &str, schema: RefOr<Schema>) -> Self {
        self.answer(status, what, "application/json", schema)
    }

    /// A JSON answer whose `id` the operations `targets` take as their path's `{id}`
    /// (OpenAPI links: what a client, or a fuzzer, may call next).
    fn json_linked(
        mut self,
        status: u16,
        what: &str,
        schema: RefOr<Schema>,
        targets: &[&str],
    ) -> Self {
        let mut response = ResponseBuilder::new()
            .description(what)
            .content("application/json", Content::new(Some(schema)));
        for target in targets {
            response = response.link(
                *target,
                LinkBuilder::new()
                    .operation_id(*target)
                    .parameter("id", "$response.body#/id")
                    .build(),
            );
        }
        self.statuses.push(status);
        self.builder = self.builder.response(status.to_string(), response);
        self
    }

    fn text(self, status: u16, what: &str) -> Self {
        self.answer(status, what, "text/plain", text())
    }

    /// An answer without a body.
    fn empty(mut self, status: u16, what: &str) -> Self {
        self.statuses.push(status);
        self.builder = self
            .builder
            .response(status.to_string(), ResponseBuilder::new().description(what));
        self
    }

    /// Failures with Pigeon's error body, each with what it means on this route.
    fn errors(mut self, error: &RefOr<Schema>, statuses: &[(u16, &str)]) -> Self {
        for (status, what) in statuses {
            if !self.statuses.contains(status) {
                self = self.json(*status, what, error.clone());
            }
        }
        self
    }
}

fn text() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn binary() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type("application/octet-stream")
        .into()
}

/// What one route of the table takes and answers. Failures every route shares (a bad
/// token, an id that names nothing, the hub being unable to answer) are added by
/// [`document`].
fn operation(route: &routes::Route, s: &mut Schemas, error: &RefOr<Schema>) -> Option<Op> {
    use routes::Method::{Get, Patch, Post, Put};
    let json_refused: &[(u16, &str)] = &[
        (413, "the request body is larger than max_json_bytes"),
        (
            422,
            "the body is not the JSON this call expects, or a field failed its rule",
        ),
    ];
    let op = match (route.method, route.path) {
        (Get, routes::HEALTHZ) => Op::new("healthz", "Checks the database and the blob storage")
            .text(
                200,
                "both answered; one line per engine says which it checked and how fast",
            )
            .text(503, "an engine failed; its line names it"),
        (Get, routes::LIVEZ) => {
            Op::new("livez", "Says the process serves (for load balancers)").text(200, "serving")
        }
        (Get, routes::METRICS) => Op::new("metrics", "The hub's counters").answer(
            200,
            "Prometheus text format 0.0.4",
            "text/plain",
            text(),
        ),
        (Get, routes::VERSION) => Op::new(
            "version",
            "The hub's release and the protocols it serves",
        )
        .json(200, "the versions", s.of::<HubVersion>()),
        (Get, routes::OPENAPI) => Op::new("openapi", "This document").json(
            200,
            "the OpenAPI document",
            ObjectBuilder::new().into(),
        ),
        (Get, routes::ME) => {
            Op::new("get_me", "The caller's profile").json(200, "the caller", s.of::<Profile>())
        }
        (Patch, routes::ME) => Op::new("set_me", "Changes the caller's zone and working hours")
            .json_body(s.of::<ProfileUpdate>())
            .json(200, "the profile as stored", s.of::<Profile>())
            .errors(error, json_refused),
        (Get, routes::USERS) => Op::new("users", "Every active user with their profile").json(
            200,
            "the users",
            s.list_of::<Profile>(),
        ),
        (Get, routes::LIMITS) => {
            Op::new("limits", "What the hub accepts").json(200, "the limits", s.of::<Limits>())
        }
        (Post, routes::BLOBS) => Op::new("create_blob", "Starts an upload")
            .json_body(s.of::<NewBlob>())
            .json_linked(
                201,
                "the new blob, nothing uploaded yet",
                s.of::<BlobStatus>(),
                &["blob_status", "put_chunk", "seal", "download"],
            )
            .errors(error, json_refused),
        (Get, routes::BLOB) => Op::new("download", "A sealed blob's bytes (Range, ETag)")
            .header("Range", "one byte range, e.g. bytes=0-1023")
            .header("If-Range", "the ETag the range is valid for")
            .header("If-None-Match", "the ETag the caller has")
            .answer(
                200,
                "the whole blob, in its own content type",
                "*/*",
                binary(),
            )
            .answer(206, "the requested range", "*/*", binary())
            .empty(304, "the caller's copy is current")
            .errors(
                error,
                &[
                    (409, "the blob is not sealed yet"),
                    (416, "the range lies outside the blob"),
                ],
            ),
        (Get, routes::BLOB_STATUS) => Op::new("blob_status", "Where an upload stands").json(
            200,
            "resume from acknowledged",
            s.of::<BlobStatus>(),
        ),
        (Put, routes::BLOB_CHUNKS) => {
            Op::new("put_chunk", "Appends bytes at the acknowledged offset")
                .query::<ChunkQuery>()
                .bytes_body("the bytes that follow offset")
                .json(200, "the upload after the append", s.of::<BlobStatus>())
                .errors(
                    error,
                    &[
                        (
                            409,
                            "offset is not the acknowledged size, or the blob is sealed",
                        ),
                        (413, "the chunk or the blob would exceed its limit"),
                        (422, "the query string is not an offset"),
                    ],
                )
        }
        (Post, routes::BLOB_SEAL) => {
            Op::new("seal", "Seals an upload after checking size and sha256")
                .json_body(s.of::<SealBlob>())
                .json(200, "the sealed blob", s.of::<BlobRef>())
                .errors(error, json_refused)
                .errors(error, &[(409, "the upload is not complete")])
        }
        (Post, routes::MESSAGES) => Op::new("commit", "Commits a message (idempotent by id)")
            .json_body(s.of::<NewMessage>())
            .json_linked(
                201,
                "committed now",
                s.of::<Message>(),
                &[
                    "message",
                    "message_status",
                    "message_records",
                    "mark_viewed",
                    "mark_done",
                ],
            )
            .json(
                200,
                "committed before with the same content",
                s.of::<Message>(),
            )
            .errors(error, json_refused)
            .errors(
                error,
                &[(
                    409,
                    "the id is taken by a different message, or a blob is not sealed",
                )],
            ),
        (Get, routes::MESSAGE) => Op::new("message", "A message the caller sent or received").json(
            200,
            "the message",
            s.of::<Message>(),
        ),
        (Get, routes::MESSAGE_STATUS) => Op::new(
            "message_status",
            "Every recipient's receipt (sender only)",
        )
        .json(200, "the receipts", s.of::<MessageStatus>()),
        (Post, routes::MESSAGE_VIEWED) => {
            Op::new("mark_viewed", "Marks a received message viewed").empty(204, "marked")
        }
        (Post, routes::MESSAGE_DONE) => {
            Op::new("mark_done", "Marks a received message done").empty(204, "marked")
        }
        (Get, routes::MESSAGE_RECORDS) => Op::new(
            "message_records",
            "What was added about a message, oldest first",
        )
        .json(200, "the records", s.list_of::<Record>()),
        (Put, routes::RECORD) => Op::new(
            "put_record",
            "Adds a record about a message (idempotent by id)",
        )
        .json_body(s.of::<NewRecord>())
        .json(201, "added now", s.of::<Record>())
        .json(200, "added before with the same content", s.of::<Record>())
        .errors(error, json_refused)
        .errors(
            error,
            &[
                (
                    403,
                    "the caller may see the message but not add this record",
                ),
                (409, "the id is taken by a different record"),
            ],
        ),
        (Get, routes::INBOX) => Op::new("inbox", "A page of the caller's inbox")
            .query::<InboxParams>()
            .json(200, "the page", s.of::<InboxPage>())
            .errors(
                error,
                &[(
                    422,
                    "a query value is not valid, or the cursor was not made by this hub",
                )],
            ),
        (Get, routes::INBOX_WAIT) => {
            Op::new("wait_inbox", "Waits for what follows a cursor (long-poll)")
                .query::<InboxParams>()
                .json(
                    200,
                    "what arrived, or an empty page when the wait ended",
                    s.of::<InboxPage>(),
                )
                .errors(
                    error,
                    &[(
                        422,
                        "a query value is not valid, or the cursor was not made by this hub",
                    )],
                )
        }
        _ => return None,
    };
    Some(op)
}

/// The document as JSON, as the hub serves it.
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    spell_links(&mut doc);
    doc
}

/// utoipa 5.5 writes a link's fields in Rust's spelling (`operation_id`); OpenAPI
/// readers look for `operationId` and `operationRef`.
fn spell_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
            continue;
        };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (rust, openapi) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
            ] {
                if let Some(v) = link.remove(rust) {
                    link.insert(openapi.to_string(), v);
                }
            }
        }
    }
}

fn http_method(m: routes::Method) -> HttpMethod {
    match m {
        routes::Method::Get => HttpMethod::Get,
        routes::Method::Post => HttpMethod::Post,
        routes::Method::Put => HttpMethod::Put,
        routes::Method::Patch => HttpMethod::Patch,
    }
}

/// The OpenAPI document of every route of [`routes::TABLE`]; a route the table lists
/// without an entry in [`operation`] is left out and logged (and fails the test).
pub fn document() -> OpenApi {
    let mut s = Schemas::default();
    let error = s.of::<ApiError>();
    let mut paths = Paths::new();
    for route in routes::TABLE {
        let Some(mut op) = operation(route, &mut s, &error) else {
            tracing::error!(
                method = route.method.as_str(),
                path = route.path,
                "a route of the table is missing from the API document"
            );
            continue;
        };
        if route.path.contains("{id}") {
            op.builder = op.builder.parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("a blob, message or record id"))
                    .schema(Some(text())),
            );
            op = op.errors(
                &error,
                &[(404, "nothing with this id that the caller may see")],
            );
        }
        if route.needs_token() {
            op.builder = op
                .builder
                .security(SecurityRequirement::new(BEARER, Vec::<String>::new()));
            op = op.header(
                PROTOCOL_HEADER,
                "the protocol the client speaks (a number; none: protocol 1)",
            );
            op = op.errors(
                &error,
                &[
                    (401, "no token, or one the hub does not know"),
                    (422, "the pigeon-protocol header is not a protocol number"),
                    (426, "the client is older than this hub serves: the message names the release to update to"),
                ],
            );
        }
        if route.path.starts_with(routes::PREFIX) {
            op = op.errors(
                &error,
                &[
                    (500, "the hub failed; its log has details"),
                    (503, "the database or blob storage is unreachable, or the hub is too busy to answer in time: retry after Retry-After"),
                ],
            );
        }
        let operation: Operation = op.builder.build();
        paths.add_path_operation(route.path, vec![http_method(route.method)], operation);
    }
    let mut schemas = s.0;
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Pigeon hub")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The shared store Pigeon's clients send video messages through. Every call under /v1 but this document needs a bearer token (`pigeon-hub user add`); every failure answers with the same error body.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(
            ComponentsBuilder::new()
                .schemas_from_iter(schemas)
                .security_scheme(
                    BEARER,
                    SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
                )
                .build(),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_table_is_in_the_document_and_nothing_else() {
        let doc = document_json();
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = 0;
        for (path, item) in paths {
            for (method, _) in item.as_object().unwrap() {
                documented += 1;
                assert!(
                    routes::TABLE
                        .iter()
                        .any(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method)),
                    "{method} {path} is documented but not routed"
                );
            }
        }
        assert_eq!(documented, routes::TABLE.len(), "a route is missing");
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document_json();
        let schemas = doc["components"]["schemas"].as_object().unwrap().clone();
        let text = doc.to_string();
        let mut rest = text.as_str();
        let mut seen = 0;
        while let Some(i) = rest.find("#/components/schemas/") {
            rest = &rest[i + "#/components/schemas/".len()..];
            let name: String = rest.chars().take_while(|c| *c != '"').collect();
            assert!(
                schemas.contains_key(&name),
                "{name} is referenced but not defined"
            );
            seen += 1;
        }
        assert!(seen > 20, "only {seen} references");
    }

    #[test]
    fn links_name_operations_of_the_document() {
        let doc = document_json();
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap())
            .collect();
        let links = &doc["paths"][routes::BLOBS]["post"]["responses"]["201"]["links"];
        assert_eq!(links.as_object().unwrap().len(), 4);
        for link in links.as_object().unwrap().values() {
            let target = link["operationId"].as_str().unwrap();
            assert!(ids.contains(&target), "{target}");
            assert_eq!(link["parameters"]["id"], "$response.body#/id");
        }
    }

    #[test]
    fn a_message_as_the_hub_writes_it_has_the_documented_fields() {
        let doc = document_json();
        let message = &doc["components"]["schemas"]["Message"];
        let required: Vec<&str> = message["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for field in [
            "id",
            "sender",
            "recipients",
            "respond_by",
            "thread",
            "sent_at",
        ] {
            assert!(required.contains(&field), "{field} in {required:?}");
        }
        // Fields left out when empty are not required.
        assert!(!required.contains(&"clip") && !required.contains(&"deadlines"));
    }
}
