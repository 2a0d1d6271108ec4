//! A minimal MaxMind DB writer for tests: just enough of the format to build
//! tiny GeoIP2-style files (24-bit records, no pointers, no overlapping networks).
//!
//! Format: <https://maxmind.github.io/MaxMind-DB/>.

use std::net::IpAddr;

/// A data-section value.
pub enum Value {
    Str(&'static str),
    Bool(bool),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'static str, Value)>),
    Array(Vec<Value>),
    /// Bytes copied into the data section as they are, to make corrupt records.
    Raw(Vec<u8>),
}

pub fn map(entries: Vec<(&'static str, Value)>) -> Value {
    Value::Map(entries)
}

fn control(out: &mut Vec<u8>, type_num: u8, size: usize) {
    let (first, ext): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 285 {
        (29, vec![(size - 29) as u8])
    } else {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    };
    if type_num <= 7 {
        out.push(type_num << 5 | first);
    } else {
        out.push(first);
        out.push(type_num - 7);
    }
    out.extend(ext);
}

fn uint(out: &mut Vec<u8>, type_num: u8, be: &[u8]) {
    let digits: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    control(out, type_num, digits.len());
    out.extend(digits);
}

fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        Value::Bool(b) => control(out, 14, usize::from(*b)),
        Value::U16(n) => uint(out, 5, &n.to_be_bytes()),
        Value::U32(n) => uint(out, 6, &n.to_be_bytes()),
        Value::U64(n) => uint(out, 9, &n.to_be_bytes()),
        Value::Map(entries) => {
            control(out, 7, entries.len());
            for (k, v) in entries {
                encode(&Value::Str(k), out);
                encode(v, out);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(v, out);
            }
        }
        Value::Raw(bytes) => out.extend(bytes),
    }
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

pub struct Writer {
    ip_version: u16,
    database_type: &'static str,
    nodes: Vec<[Rec; 2]>,
    data: Vec<u8>,
}

impl Writer {
    /// `ip_version` 6 stores IPv4 networks under `::/96`, as GeoIP2 files do.
    pub fn new(ip_version: u16, database_type: &'static str) -> Self {
        Self {
            ip_version,
            database_type,
            nodes: vec![[Rec::Empty; 2]],
            data: Vec::new(),
        }
    }

    /// Inserts `net` (e.g. `1.2.3.0/24`) with a record.
    pub fn insert(&mut self, net: &str, value: &Value) -> &mut Self {
        let (addr, len) = net.split_once('/').unwrap();
        let addr: IpAddr = addr.parse().unwrap();
        let len: usize = len.parse().unwrap();
        let (bits, len): (Vec<bool>, usize) = match (addr, self.ip_version) {
            (IpAddr::V4(v4), 4) => (bits_of(&v4.octets()), len),
            (IpAddr::V4(v4), _) => {
                let mut b = vec![false; 96];
                b.extend(bits_of(&v4.octets()));
                (b, len + 96)
            }
            (IpAddr::V6(v6), 6) => (bits_of(&v6.octets()), len),
            (IpAddr::V6(_), _) => panic!("IPv6 network in an IPv4 database"),
        };
        let offset = self.data.len();
        encode(value, &mut self.data);
        let mut node = 0;
        for (i, &bit) in bits.iter().take(len).enumerate() {
            let side = usize::from(bit);
            if i + 1 == len {
                self.nodes[node][side] = Rec::Data(offset);
                break;
            }
            node = match self.nodes[node][side] {
                Rec::Node(n) => n,
                Rec::Empty => {
                    self.nodes.push([Rec::Empty; 2]);
                    let n = self.nodes.len() - 1;
                    self.nodes[node][side] = Rec::Node(n);
                    n
                }
                Rec::Data(_) => panic!("overlapping networks are not supported"),
            };
        }
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let count = self.nodes.len();
        let mut out = Vec::new();
        for node in &self.nodes {
            for rec in node {
                let v = match *rec {
                    Rec::Empty => count,
                    Rec::Node(n) => n,
                    Rec::Data(off) => count + 16 + off,
                };
                out.extend(&(v as u32).to_be_bytes()[1..]);
            }
        }
        out.extend([0u8; 16]);
        out.extend(&self.data);
        out.extend(b"\xAB\xCD\xEFMaxMind.com");
        let meta = map(vec![
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(1_700_000_000)),
            ("database_type", Value::Str(self.database_type)),
            ("description", map(vec![("en", Value::Str("cordon test"))])),
            ("ip_version", Value::U16(self.ip_version)),
            ("languages", Value::Array(vec![Value::Str("en")])),
            ("node_count", Value::U32(count as u32)),
            ("record_size", Value::U16(24)),
        ]);
        encode(&meta, &mut out);
        out
    }
}

fn bits_of(bytes: &[u8]) -> Vec<bool> {
    bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1))
        .collect()
}
