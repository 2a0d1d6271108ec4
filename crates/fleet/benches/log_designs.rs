//! Two ways to keep a fleet's audit logs in PostgreSQL, measured against a
//! real server: appends per second at batches of 1, 64 and 512 entries from
//! several writers at once (one per gateway node).
//!
//! - **Per node** (what Cordon does): each node keeps its own Merkle tree
//!   and ships its entries into its own row range (`PostgresStore::ship`);
//!   nodes never wait for each other.
//! - **One shared log**: a single tree sequenced in PostgreSQL, in the
//!   manner of Tessera's SQL drivers: every batch takes the tree's row lock,
//!   is numbered after the current size, and is integrated at once: its
//!   entries stored, the right-edge hash tiles read, extended and written
//!   back, and the new size and root stored, in one transaction.
//!
//! `cargo bench -p cordon-fleet --bench log_designs -- URL [SECONDS] [WRITERS]`
//! with URL a database this may fill (`bench/fleet/log-designs.sh` starts
//! one). Prints one line per design and batch size; asserts nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "a benchmark binary fails loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cordon_audit::Frontier;
use cordon_audit::merkle::{Hash, leaf_hash, node_hash};
use cordon_store::PostgresStore;
use cordon_store::postgres::{PostgresOptions, Shipment};
use postgres::{Client, NoTls};

/// Hashes per tile, as in C2SP tlog-tiles.
const TILE: usize = 256;

fn leaf(writer: usize, i: u64) -> Vec<u8> {
    let mut s = format!(
        r#"{{"v":1,"kind":"decision","id":"dec_{writer:02}{i:022}","time":"2026-12-07T12:00:00Z","account":"acct-{}","model":"fable-5","endpoint":"chat","effect":"allow","mode":"enforced","consulted":["foreign-national-frontier-2026","restricted-parties"],"policy":"sha256:"#,
        i % 977
    );
    while s.len() < 400 {
        s.push('0');
    }
    s.push_str("\"}");
    s.into_bytes()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let url = args.first().cloned().unwrap_or_else(|| {
        eprintln!("usage: log_designs URL [SECONDS] [WRITERS]");
        std::process::exit(2);
    });
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let writers: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    PostgresStore::migrate(&url).unwrap();
    println!("{writers} writers, {seconds} s per point, entries of ~400 bytes");
    for batch in [1usize, 64, 512] {
        let rate = per_node(&url, writers, batch, Duration::from_secs(seconds));
        println!("per node     batch {batch:>3}: {rate:>9.0} appends/s");
        let (rate, verified) = shared(&url, writers, batch, Duration::from_secs(seconds));
        println!(
            "shared log   batch {batch:>3}: {rate:>9.0} appends/s{}",
            if verified {
                " (root verified)"
            } else {
                " (ROOT MISMATCH)"
            }
        );
    }
}

/// Runs `writers` threads doing `work(writer, stop)` for `time`; the entries
/// they appended per second.
fn run(
    writers: usize,
    time: Duration,
    work: impl Fn(usize, &AtomicBool, &AtomicU64) + Send + Sync + 'static,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let work = Arc::new(work);
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let (stop, done, work) = (Arc::clone(&stop), Arc::clone(&done), Arc::clone(&work));
            std::thread::spawn(move || work(w, &stop, &done))
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(time);
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    done.load(Ordering::SeqCst) as f64 / started.elapsed().as_secs_f64()
}

fn per_node(url: &str, writers: usize, batch: usize, time: Duration) -> f64 {
    let url = url.to_owned();
    let tag = format!("b{batch}-{}", std::process::id());
    run(writers, time, move |w, stop, done| {
        let options = PostgresOptions {
            pool_size: 1,
            ..PostgresOptions::default()
        };
        let store = PostgresStore::connect_with(&url, &options).unwrap();
        let node = format!("{tag}-node-{w}");
        store.register_log(&node, "bench-key").unwrap();
        let mut frontier = Frontier::new();
        let mut next = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let leaves: Vec<Vec<u8>> = (next..next + batch as u64).map(|i| leaf(w, i)).collect();
            let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
            for l in &refs {
                frontier.push(leaf_hash(l), |_| {});
            }
            store
                .ship(
                    &node,
                    &Shipment {
                        first: next,
                        entries: &refs,
                        root: frontier.root(),
                        checkpoints: &[],
                    },
                )
                .unwrap();
            next += batch as u64;
            done.fetch_add(batch as u64, Ordering::Relaxed);
        }
    })
}

const SHARED_SCHEMA: &str = "
DROP TABLE IF EXISTS shared_tree, shared_entries, shared_tiles;
CREATE TABLE shared_tree (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, root BYTEA NOT NULL);
CREATE TABLE shared_entries (idx BIGINT PRIMARY KEY, leaf BYTEA NOT NULL);
CREATE TABLE shared_tiles (level INTEGER NOT NULL, idx BIGINT NOT NULL, hashes BYTEA NOT NULL, PRIMARY KEY (level, idx));
INSERT INTO shared_tree VALUES (1, 0, '\\x');
";

fn shared(url: &str, writers: usize, batch: usize, time: Duration) -> (f64, bool) {
    Client::connect(url, NoTls)
        .unwrap()
        .batch_execute(SHARED_SCHEMA)
        .unwrap();
    let u = url.to_owned();
    let rate = run(writers, time, move |w, stop, done| {
        let mut client = Client::connect(&u, NoTls).unwrap();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let leaves: Vec<Vec<u8>> = (i..i + batch as u64).map(|k| leaf(w, k)).collect();
            append_shared(&mut client, &leaves);
            i += batch as u64;
            done.fetch_add(batch as u64, Ordering::Relaxed);
        }
    });
    // The stored root is the root of the stored entries.
    let mut client = Client::connect(url, NoTls).unwrap();
    let row = client
        .query_one("SELECT size, root FROM shared_tree WHERE id = 1", &[])
        .unwrap();
    let (size, root): (i64, Vec<u8>) = (row.get(0), row.get(1));
    let mut f = Frontier::new();
    for r in client
        .query("SELECT leaf FROM shared_entries ORDER BY idx", &[])
        .unwrap()
    {
        f.push(leaf_hash(&r.get::<_, Vec<u8>>(0)), |_| {});
    }
    (
        rate,
        f.size() == size as u64 && f.root().as_slice() == root.as_slice(),
    )
}

/// Sequences and integrates one batch: one transaction under the tree lock.
fn append_shared(client: &mut Client, leaves: &[Vec<u8>]) {
    let mut tx = client.transaction().unwrap();
    let size: i64 = tx
        .query_one("SELECT size FROM shared_tree WHERE id = 1 FOR UPDATE", &[])
        .unwrap()
        .get(0);
    let n = leaves.len() as i64;
    let idx: Vec<i64> = (size..size + n).collect();
    let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
    tx.execute(
        "INSERT INTO shared_entries (idx, leaf) SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[])",
        &[&idx, &refs],
    )
    .unwrap();
    // Integrate: each level's right-edge tile takes the new hashes; a tile
    // that fills passes its root up to the level above.
    let mut hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let mut first = size as u64; // index, at this level, of hashes[0]
    let mut edges: Vec<Vec<Hash>> = Vec::new(); // each level's partial tile after the batch
    let mut level = 0i32;
    let mut written_levels = Vec::new();
    loop {
        let tile = first / TILE as u64;
        let offset = (first % TILE as u64) as usize;
        let mut row: Vec<Hash> = if offset == 0 {
            Vec::new()
        } else {
            let r = tx
                .query_one(
                    "SELECT hashes FROM shared_tiles WHERE level = $1 AND idx = $2",
                    &[&level, &(tile as i64)],
                )
                .unwrap();
            r.get::<_, Vec<u8>>(0)
                .chunks_exact(32)
                .map(|c| <[u8; 32]>::try_from(c).unwrap())
                .collect()
        };
        row.extend_from_slice(&hashes);
        let mut up = Vec::new();
        let (mut ids, mut blobs): (Vec<i64>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
        for (k, chunk) in row.chunks(TILE).enumerate() {
            ids.push((tile + k as u64) as i64);
            blobs.push(chunk.concat());
            if chunk.len() == TILE {
                up.push(perfect_root(chunk));
            }
        }
        tx.execute(
            "INSERT INTO shared_tiles (level, idx, hashes)
             SELECT $1, i, h FROM UNNEST($2::BIGINT[], $3::BYTEA[]) AS t (i, h)
             ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
            &[&level, &ids, &blobs],
        )
        .unwrap();
        written_levels.push(level);
        let partial = row.len() % TILE;
        edges.push(row[row.len() - partial..].to_vec());
        if up.is_empty() {
            // Levels above keep their partial tiles: read them for the root.
            let mut above = level + 1;
            let mut above_size = (size as u64 + n as u64) / (TILE as u64).pow(above as u32);
            while above_size > 0 {
                let k = (above_size % TILE as u64) as usize;
                let t = above_size / TILE as u64;
                let edge = if k == 0 {
                    Vec::new()
                } else {
                    tx.query_one(
                        "SELECT hashes FROM shared_tiles WHERE level = $1 AND idx = $2",
                        &[&above, &(t as i64)],
                    )
                    .unwrap()
                    .get::<_, Vec<u8>>(0)
                    .chunks_exact(32)
                    .take(k)
                    .map(|c| <[u8; 32]>::try_from(c).unwrap())
                    .collect()
                };
                edges.push(edge);
                above += 1;
                above_size /= TILE as u64;
            }
            break;
        }
        first = (size as u64 + n as u64) / (TILE as u64).pow(level as u32 + 1) - up.len() as u64;
        hashes = up;
        level += 1;
    }
    let root = root_of(&edges);
    tx.execute(
        "UPDATE shared_tree SET size = $1, root = $2 WHERE id = 1",
        &[&(size + n), &root.as_slice()],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// The root of a perfect subtree over `hashes` (a power of two of them).
fn perfect_root(hashes: &[Hash]) -> Hash {
    let mut level = hashes.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level[0]
}

/// The tree's root from each level's partial right-edge tile (level 0
/// first): the perfect subtrees of the size's binary decomposition, folded
/// from the right (RFC 9162 section 2.1.1).
fn root_of(edges: &[Vec<Hash>]) -> Hash {
    let mut subtrees: Vec<Hash> = Vec::new(); // largest first
    for edge in edges.iter().rev() {
        let mut at = 0;
        let mut k = edge.len();
        while k > 0 {
            let p = 1 << (usize::BITS - 1 - k.leading_zeros());
            subtrees.push(perfect_root(&edge[at..at + p]));
            at += p;
            k -= p;
        }
    }
    let mut iter = subtrees.into_iter().rev();
    let Some(mut acc) = iter.next() else {
        return cordon_audit::merkle::empty_root();
    };
    for s in iter {
        acc = node_hash(&s, &acc);
    }
    acc
}
