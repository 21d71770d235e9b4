//! A deployment's plan as `plan` prints it: the deployment, what one request
//! costs, and with a request rate the line to expect; as text or one JSON
//! object.
//!
//! ```
//! use nixl_kv_metrics::printer::plan::{Plan, Setup, Text};
//! use nixl_kv_metrics::topology::*;
//!
//! let release = "0.34.0".parse().unwrap();
//! let deployment = Deployment::new(ModelGeometry::LLAMA_3_1_8B, Parallelism::tp(2),
//!     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?
//!     .for_release(release, Backend::FlashAttention).unwrap();
//! let setup = Setup {
//!     source: "flags".to_string(),
//!     dtype: Dtype::Bf16,
//!     deployment,
//!     release,
//!     backend: Backend::FlashAttention,
//! };
//! let plan = Plan { setup: &setup, figures: deployment.figures(640)?, rate: None };
//! let text = Text(&plan).to_string();
//! assert!(text.contains("2 READs, issued and recorded by decode: 1 by each of its\n  2 ranks\n"));
//! assert!(text.contains("\nMiB per request: 80.0\n"));
//! # Ok::<(), TopologyError>(())
//! ```

use std::fmt::{self, Display, Formatter};
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::explanation::wrap;
use super::json::{Float, entry};
use super::numbers::{seconds, trimmed};
use super::words::plural;
use crate::field::Field;
use crate::python::Repr;
use crate::release::{Family, Release};
use crate::telemetry::MIB;
use crate::topology::{
    Backend, Deployment, Dtype, ExpectedLine, KvRegistration, Mode, RequestFigures,
};
use crate::views::LineReading;

/// A deployment as a vLLM release runs it, and where its model came from:
/// what `plan` plans for, and what `explain --model` reads lines against.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// Where the geometry came from: a config's path, or `flags`.
    pub source: String,
    /// The KV cache's dtype.
    pub dtype: Dtype,
    /// The deployment, as the release runs it ([`Deployment::for_release`]).
    pub deployment: Deployment,
    /// The vLLM release.
    pub release: Release,
    /// The attention backend.
    pub backend: Backend,
}

/// Everything `plan` prints.
pub struct Plan<'a> {
    /// The deployment.
    pub setup: &'a Setup,
    /// One request.
    pub figures: RequestFigures,
    /// With a request rate: the line to expect.
    pub rate: Option<Rate>,
}

/// A steady request rate and the line it makes.
pub struct Rate {
    /// Requests per second.
    pub per_second: f64,
    /// The logging interval.
    pub interval: Duration,
    /// The line's size fields.
    pub line: ExpectedLine,
}

/// How the release registers the KV cache, in words.
fn registration(registration: KvRegistration, mla: bool) -> &'static str {
    match registration {
        KvRegistration::TwoRegions => "K and V registered as two regions per layer",
        KvRegistration::HalfBlocks => {
            "one region per layer, each block described as a K half and a V half"
        }
        KvRegistration::WholeBlocks if mla => "one latent region per layer",
        KvRegistration::WholeBlocks => "one region per layer, K and V packed in each block",
    }
}

/// The registration's name in JSON.
fn registration_key(registration: KvRegistration) -> &'static str {
    match registration {
        KvRegistration::TwoRegions => "two_regions",
        KvRegistration::HalfBlocks => "half_blocks",
        KvRegistration::WholeBlocks => "whole_blocks",
    }
}

/// The model's geometry in words.
fn model(setup: &Setup) -> String {
    let geometry = setup.deployment.model();
    let attention = match geometry.mla_latent_width {
        Some(latent) => format!("an MLA latent of {latent}"),
        None => format!(
            "{} of {}",
            plural(u64::from(geometry.kv_heads), "KV head"),
            geometry.head_dim
        ),
    };
    format!(
        "model ({}): {} layers, {attention}, {} KV cache, {}-token blocks",
        setup.source,
        geometry.layers,
        setup.dtype.name(),
        geometry.block_size,
    )
}

/// The deployment in words.
fn deployment(setup: &Setup) -> String {
    let d = setup.deployment;
    let tp = match (d.prefill().tp, d.decode().tp) {
        (p, q) if p == q => format!("TP {p} on both instances"),
        (p, q) => format!("prefill TP {p}, decode TP {q}"),
    };
    let mode = match d.mode() {
        Mode::Pull => "pull (decode READs)",
        Mode::Push => "push (prefill WRITEs)",
    };
    format!(
        "deployment: {tp}, {mode}\nvLLM {}, {}: {}",
        setup.release,
        setup.backend,
        registration(d.registration(), d.model().is_mla())
    )
}

impl Display for Text<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let plan = self.0;
        let d = &plan.setup.deployment;
        let figures = &plan.figures;
        let verb = d.mode().operation();
        wrap(f, "", "  ", &model(plan.setup))?;
        for line in deployment(plan.setup).lines() {
            wrap(f, "", "  ", line)?;
        }
        writeln!(
            f,
            "request: {} in {}",
            plural(u64::from(figures.tokens), "token"),
            plural(u64::from(figures.blocks), "block")
        )?;
        let recording_tp = d.parallelism(figures.recorder).tp;
        let ranks = match recording_tp {
            1 => format!("{}'s one rank", figures.recorder),
            tp => format!(
                "{}: {} by each of its {tp} ranks",
                figures.recorder, figures.per_recording_rank
            ),
        };
        wrap(
            f,
            "\n",
            "  ",
            &format!(
                "transfers per request: {}, issued and recorded by {ranks}",
                plural(u64::from(figures.transfers), verb),
            ),
        )?;
        writeln!(
            f,
            "bytes per {verb}: {} ({} MiB)",
            figures.bytes,
            Repr(figures.mib())
        )?;
        let descriptors = figures.descriptors;
        let per_transfer = if descriptors.adjacent == descriptors.scattered {
            format!(
                "{} whether or not the request's blocks are adjacent",
                descriptors.adjacent
            )
        } else {
            format!(
                "{} if the request's blocks are adjacent on both sides, {} if none are",
                descriptors.adjacent, descriptors.scattered
            )
        };
        wrap(
            f,
            "",
            "  ",
            &format!(
                "descriptors per {verb}: {per_transfer} (of the {} vLLM lists, NIXL merges \
                 those adjacent on both sides)",
                descriptors.posted
            ),
        )?;
        writeln!(
            f,
            "MiB per request: {}",
            Repr(figures.total_bytes() as f64 / MIB)
        )?;
        let notes = notes(plan);
        if !notes.is_empty() {
            f.write_str("\n")?;
        }
        for note in notes {
            wrap(f, "* ", "  ", &note)?;
        }
        match &plan.rate {
            Some(rate) => line(f, plan, rate),
            None => {
                f.write_str("\nline: --rate R (requests per second) gives the line to expect\n")
            }
        }
    }
}

/// What the figures depend on that is not obvious from them.
fn notes(plan: &Plan<'_>) -> Vec<String> {
    let d = &plan.setup.deployment;
    let figures = &plan.figures;
    let geometry = d.model();
    let mut notes = Vec::new();
    if !geometry.is_mla() && d.prefill().tp != d.decode().tp {
        notes.push(
            "Prefill and decode hold different heads per rank: each descriptor is a head \
             slice of a block, and slices of adjacent blocks never merge."
                .to_string(),
        );
    }
    if figures.notifications > 0 {
        notes.push(format!(
            "MLA keeps the whole latent on every rank: one READ per decode rank suffices, \
             and {} prefill ranks per request are only notified.",
            figures.notifications
        ));
    }
    if d.registration() == KvRegistration::HalfBlocks && figures.blocks == 1 {
        notes.push(format!(
            "NIXL 1.3 and older merge a lone block's K and V halves: {} descriptors there \
             (the counts above are NIXL 1.4's).",
            d.layers_per_stage()
        ));
    }
    notes
}

/// The expected line, and what it cannot say.
fn line(f: &mut Formatter<'_>, plan: &Plan<'_>, rate: &Rate) -> fmt::Result {
    let expected = &rate.line;
    let interval = seconds(rate.interval);
    wrap(
        f,
        "\n",
        "  ",
        &format!(
            "line on {}, every {interval} s at {} requests/s ({} requests per interval on \
             average):",
            plan.figures.recorder,
            trimmed(rate.per_second, 3),
            trimmed(expected.requests, 3)
        ),
    )?;
    let count = if plan.setup.release.family() == Ok(Family::F1) {
        Field::NumSuccessfulTransfersCounter
    } else {
        Field::NumSuccessfulTransfers
    };
    let transfers = expected.transfers;
    if transfers.fract() == 0.0 {
        writeln!(f, "  {}={transfers}", count.name())?;
    } else {
        writeln!(
            f,
            "  {}={} on average (each line prints a whole number)",
            count.name(),
            trimmed(transfers, 3)
        )?;
    }
    if let Some(avg_mb) = expected.avg_mb {
        writeln!(f, "  {}={avg_mb}", Field::AvgMbPerTransfer.name())?;
    }
    match expected.avg_descriptors {
        Some((adjacent, scattered)) if adjacent == scattered => {
            writeln!(f, "  {}={adjacent}", Field::AvgNumberOfDescriptors.name())?
        }
        Some((adjacent, scattered)) => wrap(
            f,
            "  ",
            "    ",
            &format!(
                "{}={adjacent} if every request's blocks are adjacent, {scattered} if none are, \
                 in between for a mix",
                Field::AvgNumberOfDescriptors.name()
            ),
        )?,
        None => writeln!(f, "  vLLM {} logs the count alone", plan.setup.release)?,
    }
    if expected.avg_mb.is_some() {
        wrap(
            f,
            "  ",
            "  ",
            "The timings (Avg and P90 xfer and post time, Throughput) depend on the link and \
             the load: they are not predicted.",
        )?;
    }
    Ok(())
}

/// A plan as text.
pub struct Text<'a>(pub &'a Plan<'a>);

/// What a logged line says of its requests, for a [`Setup`]: the section
/// `explain --model` adds to each line's explanation.
///
/// ```
/// use nixl_kv_metrics::logs::parse_line;
/// use nixl_kv_metrics::printer::plan::{Fitted, Setup};
/// use nixl_kv_metrics::topology::*;
/// use nixl_kv_metrics::views::LineReading;
///
/// let record = parse_line("KV Transfer metrics: Num successful transfers=4, \
///     Avg xfer time (ms)=1.381, P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, \
///     P90 post time (ms)=0.801, Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, \
///     Avg number of descriptors=72.0").unwrap().unwrap();
/// let reading = LineReading::new(&record, std::time::Duration::from_secs(10)).unwrap();
/// let release = "0.22.1".parse().unwrap();
/// let deployment = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(1),
///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?
///     .for_release(release, Backend::FlashAttention).unwrap();
/// let setup = Setup { source: "flags".into(), dtype: Dtype::Bf16, deployment, release,
///     backend: Backend::FlashAttention };
/// let text = Fitted { setup: &setup, reading: &reading }.to_string();
/// assert!(text.contains("\n  blocks per request  1.000\n"), "{text}");
/// assert!(text.contains("the line's 72.0 is within this range"), "{text}");
/// # Ok::<(), TopologyError>(())
/// ```
pub struct Fitted<'a> {
    /// The deployment the line is read against.
    pub setup: &'a Setup,
    /// The line's numbers.
    pub reading: &'a LineReading,
}

impl Display for Fitted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let setup = self.setup;
        let d = &setup.deployment;
        let verb = d.mode().operation();
        let block_size = d.model().block_size;
        let fit = match d.fit(self.reading.avg_mib) {
            Ok(fit) => fit,
            Err(e) => return writeln!(f, "\nwith the model: {e}"),
        };
        wrap(f, "\nwith the ", "  ", &model(setup))?;
        for line in deployment(setup).lines() {
            wrap(f, "  ", "  ", line)?;
        }
        let rows = [
            (
                "blocks per request",
                format!("{:.3}", fit.blocks),
                format!(
                    "Avg MB per transfer / {} MiB, what one block adds to a {verb} ({} \
                     bytes){}",
                    Repr(fit.block_bytes as f64 / MIB),
                    fit.block_bytes,
                    if fit.blocks.max < 1.0 {
                        "; less than one block, so the line does not come from this model at \
                         these TP sizes (a smaller model, or more ranks?)"
                    } else {
                        ""
                    }
                ),
            ),
            (
                "tokens per request",
                format!(
                    "{:.0} – {:.0}",
                    fit.tokens.min.ceil(),
                    fit.tokens.max.floor()
                ),
                format!(
                    "moved, on average: a request of n blocks moves (n − 1) × {block_size} + 1 \
                     to n × {block_size} tokens, its prompt less what decode already held"
                ),
            ),
            (
                "descriptors",
                format!("{:.1}", fit.descriptors),
                format!(
                    "per {verb} for that many blocks, from every request's blocks adjacent to \
                     none adjacent; the line's {} {}",
                    Repr(self.reading.avg_descriptors.value),
                    if fit.admits(self.reading.avg_descriptors) {
                        "is within this range".to_string()
                    } else {
                        format!(
                            "is outside it: not how vLLM {} registers a {} KV cache (another \
                             release or backend? see --vllm and --backend)",
                            setup.release, setup.backend
                        )
                    }
                ),
            ),
        ];
        // Less than one block per transfer: no request of this deployment,
        // and nothing more to read from the line.
        let shown = if fit.blocks.max < 1.0 { 1 } else { rows.len() };
        for (label, value, how) in rows.into_iter().take(shown) {
            writeln!(f, "  {label:<18}  {value}")?;
            wrap(f, "      ", "      ", &how)?;
        }
        Ok(())
    }
}

/// A plan as one JSON object.
pub struct Json<'a>(pub &'a Plan<'a>);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let plan = self.0;
        let setup = plan.setup;
        let d = &setup.deployment;
        let figures = &plan.figures;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("vllm", &setup.release.to_string())?;
        map.serialize_entry("backend", setup.backend.name())?;
        let mode = match d.mode() {
            Mode::Pull => "pull",
            Mode::Push => "push",
        };
        map.serialize_entry("mode", mode)?;
        map.serialize_entry("prefill_tp", &d.prefill().tp)?;
        map.serialize_entry("decode_tp", &d.decode().tp)?;
        map.serialize_entry("model", &Model(setup))?;
        map.serialize_entry("registration", registration_key(d.registration()))?;
        map.serialize_entry("tokens", &figures.tokens)?;
        map.serialize_entry("blocks", &figures.blocks)?;
        map.serialize_entry("transfers_per_request", &figures.transfers)?;
        map.serialize_entry("recorded_by", &figures.recorder.to_string())?;
        map.serialize_entry("transfers_per_recording_rank", &figures.per_recording_rank)?;
        map.serialize_entry("notifications_per_request", &figures.notifications)?;
        map.serialize_entry("bytes_per_transfer", &figures.bytes)?;
        map.serialize_entry("mib_per_transfer", &Float(figures.mib()))?;
        map.serialize_entry("descriptors_per_transfer", &DescriptorsJson(figures))?;
        map.serialize_entry("bytes_per_request", &figures.total_bytes())?;
        map.serialize_entry(
            "mib_per_request",
            &Float(figures.total_bytes() as f64 / MIB),
        )?;
        entry(&mut map, "line", plan.rate.as_ref().map(LineJson))?;
        map.end()
    }
}

struct Model<'a>(&'a Setup);

impl Serialize for Model<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let geometry = self.0.deployment.model();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("source", &self.0.source)?;
        map.serialize_entry("layers", &geometry.layers)?;
        match geometry.mla_latent_width {
            Some(latent) => map.serialize_entry("mla_latent_width", &latent)?,
            None => {
                map.serialize_entry("kv_heads", &geometry.kv_heads)?;
                map.serialize_entry("head_dim", &geometry.head_dim)?;
            }
        }
        map.serialize_entry("kv_cache_dtype", self.0.dtype.name())?;
        map.serialize_entry("block_size", &geometry.block_size)?;
        map.end()
    }
}

struct DescriptorsJson<'a>(&'a RequestFigures);

impl Serialize for DescriptorsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = self.0.descriptors;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("adjacent", &d.adjacent)?;
        map.serialize_entry("scattered", &d.scattered)?;
        map.serialize_entry("posted", &d.posted)?;
        map.end()
    }
}

struct LineJson<'a>(&'a Rate);

impl Serialize for LineJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rate = self.0;
        let line = &rate.line;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("requests_per_second", &Float(rate.per_second))?;
        map.serialize_entry("interval_s", &Float(rate.interval.as_secs_f64()))?;
        map.serialize_entry("requests", &Float(line.requests))?;
        map.serialize_entry("num_successful_transfers", &Float(line.transfers))?;
        entry(&mut map, "avg_mb_per_transfer", line.avg_mb)?;
        if let Some((adjacent, scattered)) = line.avg_descriptors {
            map.serialize_entry(
                "avg_number_of_descriptors",
                &[("adjacent", adjacent), ("scattered", scattered)]
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )?;
        }
        map.end()
    }
}
