//! A minimal PostgreSQL client on a raw socket, built on mallard's own codec. It shows
//! what drivers hide: each column's type OID, the exact text of each value, command tags
//! and the transaction status byte. It speaks to mallard and to PostgreSQL alike.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mallard_protocol::pg::backend::{ErrorInfo, FieldDescription, Message};
use mallard_protocol::pg::{frontend, startup, TransactionStatus, PROTOCOL_3_0};

/// Everything one simple-query round trip answered.
// Each test binary reads the fields it compares.
#[derive(Debug)]
pub struct Reply {
    /// The type OIDs of the last `RowDescription`.
    pub type_oids: Vec<u32>,
    /// The column names of the last `RowDescription`.
    pub names: Vec<String>,
    /// The last `RowDescription` whole: table OIDs, column numbers, type modifiers.
    pub fields: Vec<FieldDescription>,
    /// The text of every `DataRow` field; `None` is NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// One `CommandComplete` tag per statement that completed.
    pub tags: Vec<String>,
    pub error: Option<ErrorInfo>,
    /// `ParameterStatus` messages (name, value), in the order they came.
    pub parameters: Vec<(String, String)>,
    pub status: TransactionStatus,
}

impl Reply {
    /// The rows as text, fields joined by `|` and rows by newlines (`NULL` for NULL), or
    /// `ERROR <sqlstate>`: what a comparison of two servers' answers looks at.
    pub fn text(&self) -> String {
        if let Some(e) = &self.error {
            return format!("ERROR {}", e.code.code());
        }
        self.rows
            .iter()
            .map(|row| row.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect::<Vec<_>>().join("|"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The `ParameterStatus` messages of the startup, in order.
    pub startup_parameters: Vec<(String, String)>,
}

impl RawClient {
    /// Connects to 127.0.0.1:`port` and completes a trust-authenticated startup.
    pub fn connect(port: u16, user: &str, database: &str) -> Result<RawClient, String> {
        Self::connect_with(port, &[("user", user), ("database", database), ("client_encoding", "UTF8")])
    }

    /// Connects with these startup parameters.
    pub fn connect_with(port: u16, params: &[(&str, &str)]) -> Result<RawClient, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        let mut client = RawClient { stream, buf: Vec::new(), startup_parameters: Vec::new() };
        let mut packet = Vec::new();
        let params = params.to_vec();
        startup::encode(&startup::Request::Startup { version: PROTOCOL_3_0, params }, &mut packet);
        client.stream.write_all(&packet).map_err(|e| format!("send startup: {e}"))?;
        loop {
            match client.next()? {
                Message::ReadyForQuery(_) => return Ok(client),
                Message::ErrorResponse(e) => return Err(format!("startup refused: {e:?}")),
                Message::ParameterStatus { name, value } => client.startup_parameters.push((name, value)),
                _ => {}
            }
        }
    }

    /// Sends `sql` as one simple `Query` and collects the answer up to `ReadyForQuery`.
    pub fn query(&mut self, sql: &str) -> Result<Reply, String> {
        let mut packet = Vec::new();
        frontend::Message::Query(sql).encode(&mut packet);
        self.stream.write_all(&packet).map_err(|e| format!("send query: {e}"))?;
        let (mut type_oids, mut names, mut rows, mut tags, mut error) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), None);
        let mut described = Vec::new();
        let mut parameters = Vec::new();
        loop {
            match self.next()? {
                Message::RowDescription(fields) => {
                    type_oids = fields.iter().map(|f| f.type_oid).collect();
                    names = fields.iter().map(|f| f.name.clone()).collect();
                    described = fields;
                }
                Message::DataRow(values) => rows.push(
                    values.into_iter().map(|v| v.map(|b| String::from_utf8_lossy(&b).into_owned())).collect(),
                ),
                Message::CommandComplete(tag) => tags.push(tag),
                Message::ErrorResponse(e) => error = Some(e),
                Message::ParameterStatus { name, value } => parameters.push((name, value)),
                Message::ReadyForQuery(status) => {
                    return Ok(Reply {
                        type_oids,
                        names,
                        fields: described,
                        rows,
                        tags,
                        error,
                        parameters,
                        status,
                    })
                }
                // Notices, parameter changes, empty-query responses.
                _ => {}
            }
        }
    }

    fn next(&mut self) -> Result<Message, String> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some((m, n)) = Message::decode(&self.buf).map_err(|e| format!("bad message: {e}"))? {
                self.buf.drain(..n);
                return Ok(m);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("server closed the connection".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }
}
