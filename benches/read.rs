//! Reading a stats document of 10^6 transfers, the shape `python3
//! scripts/speed.py input 1000000 FILE` writes (one dict of four lists,
//! `json.dump`'s spacing, durations in whole microseconds), two ways:
//!
//! * `lexer`: `Interval::from_reader`, this crate's streaming reader, over
//!   the document in memory (it reads through its own 64 KiB buffer, as it
//!   reads a file);
//! * `serde_json reader`: `serde_json::Deserializer::from_reader` over a
//!   64 KiB `BufReader`, streaming into the same stats through a visitor
//!   that takes the keys from `data::Key` and checks every value's sign and
//!   type, as the alternative `src/input/lexer.rs` weighs; and `serde_json
//!   slice`, the same visitor over the whole document as one slice
//!   (`from_slice`: serde_json's fastest path, but not constant memory).
//!
//! Both give the same stats (checked before timing). Criterion reports
//! bytes per second; the document is about 36 MB. Run with `cargo bench
//! --bench read`.

use std::fmt;
use std::hint::black_box;
use std::io::BufReader;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nixl_kv_metrics::data::Key;
use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Transfers in the document.
const TRANSFERS: usize = 1_000_000;

/// xorshift64: a fixed-seed generator, so that runs compare.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A duration of whole microseconds around `median`, in seconds, as text.
fn micros(rng: &mut Xorshift, median: u64) -> String {
    ((median / 2 + rng.below(median)) as f64 / 1e6).to_string()
}

/// The document.
fn document() -> Vec<u8> {
    let mut rng = Xorshift(0x2545_F491_4F6C_DD1D);
    let mut list = |key: Key, value: fn(&mut Xorshift) -> String| {
        let values: Vec<String> = (0..TRANSFERS).map(|_| value(&mut rng)).collect();
        format!("\"{}\": [{}]", key.name(), values.join(", "))
    };
    let lists = [
        list(Key::TransferDuration, |rng| micros(rng, 2_500)),
        list(Key::PostDuration, |rng| micros(rng, 550)),
        list(Key::BytesTransferred, |rng| {
            (32_768 * (56 + rng.below(8_904))).to_string()
        }),
        list(Key::NumDescriptors, |rng| {
            (56 + rng.below(2_184)).to_string()
        }),
    ];
    format!("{{{}}}", lists.join(", ")).into_bytes()
}

/// A stats dict of `family`, streamed by serde into stats.
struct Stats(Family);

impl<'de> DeserializeSeed<'de> for Stats {
    type Value = NixlKvConnectorStats;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Stats {
    type Value = NixlKvConnectorStats;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stats dict")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let family = self.0;
        let (mut xfer, mut post, mut bytes, mut descriptors) = (vec![], vec![], vec![], vec![]);
        while let Some(name) = map.next_key::<String>()? {
            let key = Key::find(family, &name)
                .ok_or_else(|| de::Error::custom(format!("key {name:?} is not in the stats")))?;
            match key {
                Key::TransferDuration => xfer = map.next_value_seed(List::<Seconds>::new())?,
                Key::PostDuration => post = map.next_value_seed(List::<Seconds>::new())?,
                Key::BytesTransferred => bytes = map.next_value_seed(List::<u64>::new())?,
                Key::NumDescriptors => descriptors = map.next_value_seed(List::<u32>::new())?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(NixlKvConnectorStats::from_transfers(
            family,
            xfer,
            post,
            bytes,
            descriptors,
        ))
    }
}

/// A duration in seconds: a number >= 0.
struct Seconds;

/// A list of `T` read element by element.
struct List<T>(std::marker::PhantomData<T>);

impl<T> List<T> {
    fn new() -> List<T> {
        List(std::marker::PhantomData)
    }
}

/// How one element is read and checked.
trait Element: Sized {
    type Value;
    fn next<'de, S: SeqAccess<'de>>(seq: &mut S) -> Result<Option<Self::Value>, S::Error>;
}

impl Element for Seconds {
    type Value = f64;
    fn next<'de, S: SeqAccess<'de>>(seq: &mut S) -> Result<Option<f64>, S::Error> {
        match seq.next_element::<f64>()? {
            Some(value) if value < 0.0 => Err(de::Error::custom(format!("{value} is negative"))),
            other => Ok(other),
        }
    }
}

impl Element for u64 {
    type Value = u64;
    fn next<'de, S: SeqAccess<'de>>(seq: &mut S) -> Result<Option<u64>, S::Error> {
        seq.next_element()
    }
}

impl Element for u32 {
    type Value = u32;
    fn next<'de, S: SeqAccess<'de>>(seq: &mut S) -> Result<Option<u32>, S::Error> {
        seq.next_element()
    }
}

impl<'de, T: Element> DeserializeSeed<'de> for List<T> {
    type Value = Vec<T::Value>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Element> Visitor<'de> for List<T> {
    type Value = Vec<T::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of numbers")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut values = Vec::new();
        while let Some(value) = T::next(&mut seq)? {
            values.push(value);
        }
        Ok(values)
    }
}

fn serde_reader(document: &[u8]) -> NixlKvConnectorStats {
    let reader = BufReader::with_capacity(1 << 16, document);
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let stats = Stats(Family::F6)
        .deserialize(&mut deserializer)
        .expect("the document is valid");
    deserializer.end().expect("nothing after the dict");
    stats
}

fn serde_slice(document: &[u8]) -> NixlKvConnectorStats {
    let mut deserializer = serde_json::Deserializer::from_slice(document);
    let stats = (&mut deserializer)
        .deserialize_map(Stats(Family::F6))
        .expect("the document is valid");
    deserializer.end().expect("nothing after the dict");
    stats
}

fn lexer(document: &[u8]) -> NixlKvConnectorStats {
    let interval = Interval::from_reader(Family::F6, document).expect("the document is valid");
    let mut workers = interval.steps.into_iter().next().expect("one step");
    workers.pop().flatten().expect("one worker")
}

fn read(c: &mut Criterion) {
    let document = document();
    let expected = lexer(&document);
    assert_eq!(expected.num_successful_transfers(), TRANSFERS as u64);
    assert_eq!(serde_reader(&document), expected);
    assert_eq!(serde_slice(&document), expected);
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Bytes(document.len() as u64));
    group.sample_size(10);
    group.bench_function("lexer", |b| b.iter(|| lexer(black_box(&document))));
    group.bench_function("serde_json reader", |b| {
        b.iter(|| serde_reader(black_box(&document)))
    });
    group.bench_function("serde_json slice", |b| {
        b.iter(|| serde_slice(black_box(&document)))
    });
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
