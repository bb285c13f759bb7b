//! The wire format between pooltune and its worker processes: length-prefixed frames over the
//! workers' stdin and stdout pipes. The setup (workload spec and calibration) is sent once as
//! JSON; everything per task is binary, so feeding a million tasks costs no text parsing.
//!
//! A frame is one tag byte, the body's length as a little-endian `u32`, then the body. This
//! module only encodes and decodes; it never reads a pipe or runs a task.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::result::Calibration;
use crate::spec::WorkloadSpec;

/// Bytes of argument data each task description carries. It stands for a task's arguments
/// (a few numbers and a short string: a small pickled tuple in Python is 50-100 bytes), and
/// is what makes eager feeding's memory grow with the task count.
pub const TASK_PAYLOAD_BYTES: usize = 64;

/// Largest frame body accepted: a chunk of 1 000 000 tasks is about 76 MB.
const MAX_FRAME_BYTES: usize = 1 << 30;

/// Bytes of one encoded task: index, payload length, payload.
const TASK_WIRE_BYTES: usize = 8 + 4 + TASK_PAYLOAD_BYTES;

// Parent to worker.
const TAG_SETUP: u8 = b'S';
const TAG_BEGIN: u8 = b'B';
const TAG_TASKS: u8 = b'T';
const TAG_END: u8 = b'E';
// Worker to parent.
const TAG_READY: u8 = b'R';
const TAG_CHUNK_DONE: u8 = b'C';
const TAG_PANICKED: u8 = b'P';
const TAG_TASK_ERROR: u8 = b'X';
const TAG_ENDED: u8 = b'D';
const TAG_FAILED: u8 = b'F';

/// One task as the parent describes it to a worker: its index and its argument bytes. Eager
/// feeding builds one of these per task before sending the first; lazy feeding builds them a
/// chunk at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription {
    /// The task's index within the trial (`TaskCtx::task` in the worker).
    pub index: u64,
    /// The task's arguments: [`TASK_PAYLOAD_BYTES`] bytes derived from the index, so that a
    /// worker can check that a description arrived intact.
    pub payload: Vec<u8>,
}

impl TaskDescription {
    /// The description of task `index`.
    pub fn new(index: u64) -> TaskDescription {
        let stamp = index.to_le_bytes();
        let payload = (0..TASK_PAYLOAD_BYTES)
            .map(|i| stamp[i % stamp.len()] ^ (i as u8))
            .collect();
        TaskDescription { index, payload }
    }

    /// True when the payload is the one [`TaskDescription::new`] builds for this index.
    pub fn is_intact(&self) -> bool {
        let stamp = self.index.to_le_bytes();
        self.payload.len() == TASK_PAYLOAD_BYTES
            && self
                .payload
                .iter()
                .enumerate()
                .all(|(i, &b)| b == stamp[i % stamp.len()] ^ (i as u8))
    }

    /// Memory one description takes on the heap and in a `Vec`: the struct plus its payload
    /// allocation (glibc rounds a 64-byte request up to an 80-byte chunk).
    pub const MEMORY_BYTES: u64 = crate::spec::pool::EAGER_TASK_BYTES;
}

// The spec's eager-feeding rule counts EAGER_TASK_BYTES per description: the real type (the
// struct plus its payload's allocation, glibc's 16-byte header and rounding) must fit in it.
const _: () = assert!(
    (std::mem::size_of::<TaskDescription>() + TASK_PAYLOAD_BYTES.next_multiple_of(16) + 16) as u64
        <= TaskDescription::MEMORY_BYTES
);

/// A value that identifies a set of task indices: the wrapping sum of a 64-bit mix of each
/// index. The parent sums it over the tasks it sent, each worker over the tasks it ran; the
/// two agree only when every task sent ran exactly once (up to a 2^-64 chance).
pub fn index_checksum(index: u64) -> u64 {
    // splitmix64's finaliser (Steele, Lea and Flood 2014): a bijection with good avalanche.
    let mut z = index.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a worker process needs to rebuild the workload: sent once, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSetup {
    /// The workload's spec.
    pub spec: WorkloadSpec,
    /// The run's calibration (the parent's, so every worker computes the same amount).
    pub calibration: Calibration,
    /// This worker's index in the pool, for messages.
    pub worker: usize,
}

/// A message from a worker process to pooltune.
#[derive(Debug, Clone, PartialEq)]
pub enum FromWorker {
    /// The workload is built; the worker waits for a trial.
    Ready,
    /// A chunk of tasks is finished.
    ChunkDone {
        /// Tasks of the chunk that ran to completion.
        tasks: u64,
        /// The worker thread's CPU time spent on the chunk, in nanoseconds.
        cpu_ns: u64,
        /// Wrapping sum of [`index_checksum`] over the tasks that ran.
        index_checksum: u64,
        /// Times of the sampled tasks, in nanoseconds.
        samples_ns: Vec<u64>,
    },
    /// A task panicked; the message. The worker skips the rest of the trial's tasks.
    Panicked(String),
    /// A task failed with an error it described (an I/O error, memory it could not
    /// allocate); the whole message. The worker skips the rest of the trial's tasks.
    TaskError(String),
    /// The trial is over for this worker.
    Ended {
        /// The worker process's CPU time (all its threads) from Begin to End, in nanoseconds.
        process_cpu_ns: u64,
        /// The worker process's peak resident memory from Begin to End, in bytes.
        peak_rss_bytes: u64,
        /// The workload's own end-of-trial check failed: why.
        error: Option<String>,
    },
    /// The worker cannot go on (the workload could not be built, a damaged message).
    Failed(String),
}

/// A message from pooltune to a worker process, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ToWorker {
    /// The workload to build.
    Setup(WorkerSetup),
    /// A trial starts: time one task in `sample_every`.
    Begin {
        /// Time one task in this many.
        sample_every: u64,
    },
    /// A chunk of tasks to run.
    Tasks(Vec<TaskDescription>),
    /// The trial is over: report and wait for the next one.
    End,
}

/// A frame that cannot be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("damaged message from {side}: {what}")]
pub struct ProtocolError {
    /// Which side sent it.
    pub side: &'static str,
    /// What is wrong.
    pub what: String,
}

fn damaged(side: &'static str, what: impl Into<String>) -> ProtocolError {
    ProtocolError {
        side,
        what: what.into(),
    }
}

/// Starts a frame with `tag` and a placeholder length; returns where the body starts.
fn open_frame(buf: &mut Vec<u8>, tag: u8) -> usize {
    buf.push(tag);
    buf.extend_from_slice(&0u32.to_le_bytes());
    buf.len()
}

/// Writes the body length of the frame opened at `body_start`.
fn close_frame(buf: &mut [u8], body_start: usize) {
    let len = (buf.len() - body_start) as u32;
    buf[body_start - 4..body_start].copy_from_slice(&len.to_le_bytes());
}

fn push_u64(buf: &mut Vec<u8>, value: u64) {
    buf.extend_from_slice(&value.to_le_bytes());
}

/// A count or a byte length, as the u32 the reader takes it as.
fn push_len(buf: &mut Vec<u8>, len: usize) {
    buf.extend_from_slice(&(len as u32).to_le_bytes());
}

fn push_text(buf: &mut Vec<u8>, text: &str) {
    push_len(buf, text.len());
    buf.extend_from_slice(text.as_bytes());
}

/// Appends the setup frame.
pub fn encode_setup(buf: &mut Vec<u8>, setup: &WorkerSetup) -> Result<(), String> {
    let json = serde_json::to_vec(setup)
        .map_err(|err| format!("could not encode the workload for a worker: {err}"))?;
    let start = open_frame(buf, TAG_SETUP);
    buf.extend_from_slice(&json);
    close_frame(buf, start);
    Ok(())
}

/// Appends a Begin frame.
pub fn encode_begin(buf: &mut Vec<u8>, sample_every: u64) {
    let start = open_frame(buf, TAG_BEGIN);
    push_u64(buf, sample_every);
    close_frame(buf, start);
}

/// Appends a Tasks frame holding `tasks`.
pub fn encode_tasks<'t>(
    buf: &mut Vec<u8>,
    tasks: impl ExactSizeIterator<Item = &'t TaskDescription>,
) {
    buf.reserve(5 + 4 + tasks.len() * TASK_WIRE_BYTES);
    let start = open_frame(buf, TAG_TASKS);
    push_len(buf, tasks.len());
    for task in tasks {
        push_u64(buf, task.index);
        push_len(buf, task.payload.len());
        buf.extend_from_slice(&task.payload);
    }
    close_frame(buf, start);
}

/// Appends an End frame.
pub fn encode_end(buf: &mut Vec<u8>) {
    let start = open_frame(buf, TAG_END);
    close_frame(buf, start);
}

/// Appends a worker's message.
pub fn encode_from_worker(buf: &mut Vec<u8>, message: &FromWorker) {
    let tag = match message {
        FromWorker::Ready => TAG_READY,
        FromWorker::ChunkDone { .. } => TAG_CHUNK_DONE,
        FromWorker::Panicked(_) => TAG_PANICKED,
        FromWorker::TaskError(_) => TAG_TASK_ERROR,
        FromWorker::Ended { .. } => TAG_ENDED,
        FromWorker::Failed(_) => TAG_FAILED,
    };
    let start = open_frame(buf, tag);
    match message {
        FromWorker::Ready => {}
        FromWorker::ChunkDone {
            tasks,
            cpu_ns,
            index_checksum,
            samples_ns,
        } => {
            for value in [*tasks, *cpu_ns, *index_checksum] {
                push_u64(buf, value);
            }
            push_len(buf, samples_ns.len());
            for &ns in samples_ns {
                push_u64(buf, ns);
            }
        }
        FromWorker::Panicked(text) | FromWorker::TaskError(text) | FromWorker::Failed(text) => {
            push_text(buf, text);
        }
        FromWorker::Ended {
            process_cpu_ns,
            peak_rss_bytes,
            error,
        } => {
            for value in [*process_cpu_ns, *peak_rss_bytes] {
                push_u64(buf, value);
            }
            match error {
                None => buf.push(0),
                Some(text) => {
                    buf.push(1);
                    push_text(buf, text);
                }
            }
        }
    }
    close_frame(buf, start);
}

/// Reads fields off a frame body, refusing a body that is too short or too long.
struct Body<'a> {
    bytes: &'a [u8],
    side: &'static str,
}

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.bytes.len() < n {
            return Err(damaged(self.side, "a message ends too early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, ProtocolError> {
        let mut le = [0u8; 4];
        le.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(le))
    }

    fn u64(&mut self) -> Result<u64, ProtocolError> {
        let mut le = [0u8; 8];
        le.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(le))
    }

    fn text(&mut self) -> Result<String, ProtocolError> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// A body that is one text and nothing else, made into its message by `message`.
    fn only_text<T>(mut self, message: impl FnOnce(String) -> T) -> Result<T, ProtocolError> {
        let text = self.text()?;
        self.finish(message(text))
    }

    fn finish<T>(self, value: T) -> Result<T, ProtocolError> {
        if self.bytes.is_empty() {
            Ok(value)
        } else {
            Err(damaged(self.side, "a message has trailing bytes"))
        }
    }
}

/// A whole frame found at the start of a buffer.
struct Frame<'b> {
    tag: u8,
    body: &'b [u8],
    /// Bytes the frame takes, header included.
    len: usize,
}

/// The body length a frame header (tag, then u32 length) gives, refused above
/// `MAX_FRAME_BYTES`: a damaged length is refused before the reader allocates for it.
fn body_len(header: &[u8; 5], side: &'static str) -> Result<usize, ProtocolError> {
    let [_tag, length @ ..] = *header;
    let len = u32::from_le_bytes(length) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(damaged(side, format!("a frame of {len} bytes")));
    }
    Ok(len)
}

/// Splits the first whole frame off `buf`: `Ok(None)` when more bytes are needed.
fn split_frame<'b>(buf: &'b [u8], side: &'static str) -> Result<Option<Frame<'b>>, ProtocolError> {
    let Some(header) = buf.first_chunk::<5>() else {
        return Ok(None);
    };
    let len = body_len(header, side)?;
    if buf.len() < 5 + len {
        return Ok(None);
    }
    Ok(Some(Frame {
        tag: buf[0],
        body: &buf[5..5 + len],
        len: 5 + len,
    }))
}

/// Decodes the first whole worker message in `buf`; returns it and the bytes it took, or
/// `Ok(None)` when the frame is not complete yet.
pub fn decode_from_worker(buf: &[u8]) -> Result<Option<(FromWorker, usize)>, ProtocolError> {
    const SIDE: &str = "a worker process";
    let Some(frame) = split_frame(buf, SIDE)? else {
        return Ok(None);
    };
    let mut body = Body {
        bytes: frame.body,
        side: SIDE,
    };
    let message = match frame.tag {
        TAG_READY => body.finish(FromWorker::Ready)?,
        TAG_CHUNK_DONE => {
            let tasks = body.u64()?;
            let cpu_ns = body.u64()?;
            let index_checksum = body.u64()?;
            let count = body.u32()? as usize;
            if count.saturating_mul(8) != body.bytes.len() {
                return Err(damaged(SIDE, "a chunk report with a wrong sample count"));
            }
            let samples_ns = (0..count).map(|_| body.u64()).collect::<Result<_, _>>()?;
            body.finish(FromWorker::ChunkDone {
                tasks,
                cpu_ns,
                index_checksum,
                samples_ns,
            })?
        }
        TAG_PANICKED => body.only_text(FromWorker::Panicked)?,
        TAG_TASK_ERROR => body.only_text(FromWorker::TaskError)?,
        TAG_ENDED => {
            let process_cpu_ns = body.u64()?;
            let peak_rss_bytes = body.u64()?;
            let error = match body.u8()? {
                0 => None,
                1 => Some(body.text()?),
                other => return Err(damaged(SIDE, format!("an end report flag {other}"))),
            };
            body.finish(FromWorker::Ended {
                process_cpu_ns,
                peak_rss_bytes,
                error,
            })?
        }
        TAG_FAILED => body.only_text(FromWorker::Failed)?,
        other => return Err(damaged(SIDE, format!("unknown message tag {other}"))),
    };
    Ok(Some((message, frame.len)))
}

/// Reads one message from pooltune (blocking). `Ok(None)` at a clean end of input: pooltune
/// closed the pipe, so the worker should exit.
pub fn read_to_worker(input: &mut impl Read) -> Result<Option<ToWorker>, String> {
    const SIDE: &str = "pooltune";
    let mut head = [0u8; 5];
    match read_full(input, &mut head) {
        Ok(0) => return Ok(None),
        Ok(5) => {}
        Ok(_) => return Err("the input ended inside a message".to_owned()),
        Err(err) => return Err(format!("could not read from pooltune: {err}")),
    }
    let len = body_len(&head, SIDE).map_err(|err| err.to_string())?;
    let mut bytes = vec![0u8; len];
    if read_full(input, &mut bytes).map_err(|err| format!("could not read from pooltune: {err}"))?
        != len
    {
        return Err("the input ended inside a message".to_owned());
    }
    decode_to_worker(head[0], &bytes).map_err(|err| err.to_string())
}

/// Decodes one message body from pooltune.
fn decode_to_worker(tag: u8, bytes: &[u8]) -> Result<Option<ToWorker>, ProtocolError> {
    const SIDE: &str = "pooltune";
    let mut body = Body { bytes, side: SIDE };
    let message = match tag {
        TAG_SETUP => {
            let setup = serde_json::from_slice(bytes)
                .map_err(|err| damaged(SIDE, format!("a setup that is not valid JSON: {err}")))?;
            ToWorker::Setup(setup)
        }
        TAG_BEGIN => {
            let sample_every = body.u64()?;
            body.finish(ToWorker::Begin { sample_every })?
        }
        TAG_TASKS => {
            let count = body.u32()? as usize;
            if count.saturating_mul(TASK_WIRE_BYTES) > body.bytes.len() {
                return Err(damaged(SIDE, "a chunk shorter than its task count"));
            }
            let mut tasks = Vec::with_capacity(count);
            for _ in 0..count {
                let index = body.u64()?;
                let len = body.u32()? as usize;
                let payload = body.take(len)?.to_vec();
                tasks.push(TaskDescription { index, payload });
            }
            body.finish(ToWorker::Tasks(tasks))?
        }
        TAG_END => body.finish(ToWorker::End)?,
        other => return Err(damaged(SIDE, format!("unknown message tag {other}"))),
    };
    Ok(Some(message))
}

/// Fills `buf` unless the input ends first; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all_to_worker(bytes: &[u8]) -> Vec<ToWorker> {
        let mut input = bytes;
        let mut out = Vec::new();
        while let Some(message) = read_to_worker(&mut input).unwrap() {
            out.push(message);
        }
        out
    }

    #[test]
    fn messages_to_a_worker_round_trip() {
        let setup = WorkerSetup {
            spec: WorkloadSpec::Cpu { compute_us: 10 },
            calibration: Calibration {
                spin_units_per_us: 123.5,
                timer_cost_ns: 20.0,
            },
            worker: 3,
        };
        let tasks: Vec<TaskDescription> = (40..47).map(TaskDescription::new).collect();
        let mut buf = Vec::new();
        encode_setup(&mut buf, &setup).unwrap();
        encode_begin(&mut buf, 7);
        encode_tasks(&mut buf, tasks.iter());
        encode_end(&mut buf);
        assert_eq!(
            decode_all_to_worker(&buf),
            vec![
                ToWorker::Setup(setup),
                ToWorker::Begin { sample_every: 7 },
                ToWorker::Tasks(tasks),
                ToWorker::End
            ]
        );
    }

    #[test]
    fn messages_from_a_worker_round_trip_byte_by_byte() {
        let messages = vec![
            FromWorker::Ready,
            FromWorker::ChunkDone {
                tasks: 5,
                cpu_ns: 99,
                index_checksum: u64::MAX,
                samples_ns: vec![1, 2, 3],
            },
            FromWorker::Panicked("boom".into()),
            FromWorker::TaskError("I/O error in file_io task 3: disk full".into()),
            FromWorker::Ended {
                process_cpu_ns: 12,
                peak_rss_bytes: 4096,
                error: Some("bad total".into()),
            },
            FromWorker::Ended {
                process_cpu_ns: 0,
                peak_rss_bytes: 0,
                error: None,
            },
            FromWorker::Failed("no".into()),
        ];
        let mut buf = Vec::new();
        for message in &messages {
            encode_from_worker(&mut buf, message);
        }
        // Feed the bytes one at a time, as a pipe may deliver them.
        let mut pending = Vec::new();
        let mut decoded = Vec::new();
        for &byte in &buf {
            pending.push(byte);
            while let Some((message, used)) = decode_from_worker(&pending).unwrap() {
                decoded.push(message);
                pending.drain(..used);
            }
        }
        assert!(pending.is_empty());
        assert_eq!(decoded, messages);
    }

    #[test]
    fn damaged_frames_are_refused() {
        let mut buf = Vec::new();
        encode_from_worker(
            &mut buf,
            &FromWorker::ChunkDone {
                tasks: 1,
                cpu_ns: 1,
                index_checksum: 1,
                samples_ns: vec![1],
            },
        );
        // Claim two samples while carrying one.
        let count_at = 5 + 24;
        buf[count_at] = 2;
        assert!(decode_from_worker(&buf).is_err());
        assert!(decode_from_worker(&[b'?', 0, 0, 0, 0]).is_err());
        let mut truncated = Vec::new();
        encode_tasks(&mut truncated, [TaskDescription::new(1)].iter());
        truncated.truncate(truncated.len() - 3);
        assert!(read_to_worker(&mut truncated.as_slice()).is_err());
    }

    #[test]
    fn a_damaged_description_is_noticed() {
        let mut task = TaskDescription::new(77);
        assert!(task.is_intact());
        task.payload[10] ^= 1;
        assert!(!task.is_intact());
        let mut other = TaskDescription::new(77);
        other.index = 78;
        assert!(!other.is_intact());
    }

    #[test]
    fn checksum_tells_a_repeated_task_from_a_missing_one() {
        let sum = |indices: &[u64]| {
            indices
                .iter()
                .fold(0u64, |acc, &i| acc.wrapping_add(index_checksum(i)))
        };
        let all = sum(&[0, 1, 2, 3]);
        assert_eq!(all, sum(&[3, 1, 0, 2]));
        assert_ne!(all, sum(&[0, 1, 1, 3]));
        assert_ne!(all, sum(&[0, 1, 2]));
    }
}
