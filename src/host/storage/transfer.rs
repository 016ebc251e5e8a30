//! Volume upload and download, each on a thread of its own so the worker keeps answering.
//! Progress, cancel and the outcome travel through the `Job` handle.
//!
//! Both use the plain (non-sparse) stream API: holes of a sparse raw volume go over the wire
//! as zeros. Simpler, and correct; only slower for mostly empty volumes.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use virt::connect::Connect;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;

use crate::job::{Job, JobState};

use super::message;

const CHUNK: usize = 1024 * 1024;

/// How a transfer ended, short of success.
enum Stop {
    Cancelled,
    Failed(String),
}

impl From<virt::error::Error> for Stop {
    fn from(e: virt::error::Error) -> Stop {
        Stop::Failed(message(&e))
    }
}

pub(super) fn spawn_upload(conn: &Connect, pool: String, volume: String, file: PathBuf, job: Job) {
    // A second reference to the same connection (virConnectRef): it stays open for the
    // transfer even if the worker drops its own handle to reconnect.
    let conn = conn.clone();
    spawn("vol-upload", job, move |job| {
        upload(&conn, &pool, &volume, &file, job)
    });
}

pub(super) fn spawn_download(
    conn: &Connect,
    pool: String,
    volume: String,
    file: PathBuf,
    job: Job,
) {
    let conn = conn.clone();
    spawn("vol-download", job, move |job| {
        download(&conn, &pool, &volume, &file, job)
    });
}

/// Runs `body` on a named thread and records its end in the job. A panic (the `virt` crate
/// panics when freeing a handle fails) still finishes the job, so the UI never waits forever.
fn spawn(name: &str, job: Job, body: impl FnOnce(&Job) -> Result<(), Stop> + Send + 'static) {
    let on_thread = job.clone();
    let started = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let job = on_thread;
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&job)));
            job.finish(match ended {
                Ok(Ok(())) => JobState::Done,
                Ok(Err(Stop::Cancelled)) => JobState::Cancelled,
                Ok(Err(Stop::Failed(text))) => JobState::Failed(text),
                Err(_) => JobState::Failed("internal error in the transfer thread".into()),
            });
        });
    if let Err(e) = started {
        job.finish(JobState::Failed(format!("cannot start the transfer: {e}")));
    }
}

fn volume(conn: &Connect, pool: &str, volume: &str) -> Result<StorageVol, Stop> {
    let pool = conn.lookup_storage_pool_by_name(pool)?;
    Ok(pool.lookup_storage_vol_by_name(volume)?)
}

fn upload(conn: &Connect, pool: &str, name: &str, path: &Path, job: &Job) -> Result<(), Stop> {
    // Open the local file before anything starts on the host: a typo fails at once.
    let mut file = File::open(path)
        .map_err(|e| Stop::Failed(format!("cannot open {}: {e}", path.display())))?;
    let len = file
        .metadata()
        .map_err(|e| Stop::Failed(format!("cannot read {}: {e}", path.display())))?
        .len();
    let vol = volume(conn, pool, name)?;
    let capacity = vol.info()?.capacity;
    if len > capacity {
        return Err(Stop::Failed(format!(
            "{} is {} ({len} bytes), larger than volume {name} ({}, {capacity} bytes): grow the \
             volume first",
            path.display(),
            crate::fmt::bytes(len),
            crate::fmt::bytes(capacity),
        )));
    }
    job.set_total(len);
    let stream = Stream::new(conn, 0)?;
    vol.upload(&stream, 0, len, 0)?;
    match send_file(&stream, &mut file, path, job) {
        Ok(()) => Ok(stream.finish()?),
        Err(stop) => {
            // The end already being reported, a failing abort adds nothing.
            let _ = stream.abort();
            Err(stop)
        }
    }
}

fn send_file(stream: &Stream, file: &mut File, path: &Path, job: &Job) -> Result<(), Stop> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        if job.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let n = file
            .read(&mut buf)
            .map_err(|e| Stop::Failed(format!("reading {}: {e}", path.display())))?;
        if n == 0 {
            return Ok(());
        }
        let mut sent = 0;
        // A blocking stream may still take less than offered.
        while sent < n {
            let k = stream.send(&buf[sent..n])?;
            if k <= 0 {
                return Err(Stop::Failed("the host stopped accepting data".into()));
            }
            sent += k as usize;
        }
        job.advance(n as u64);
    }
}

fn download(conn: &Connect, pool: &str, name: &str, dest: &Path, job: &Job) -> Result<(), Stop> {
    if dest.exists() {
        return Err(Stop::Failed(format!(
            "{} already exists; virtdeck does not overwrite files",
            dest.display()
        )));
    }
    // The bytes land in a hidden file next to the destination, renamed at the end: a
    // cancelled or failed download leaves nothing (the temp file deletes itself on drop).
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // The form said the folder would be made (a default download directory may not exist
    // yet on a server).
    std::fs::create_dir_all(dir)
        .map_err(|e| Stop::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let mut part = tempfile::Builder::new()
        .prefix(".virtdeck-download-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| Stop::Failed(format!("cannot write in {}: {e}", dir.display())))?;
    let vol = volume(conn, pool, name)?;
    job.set_total(download_size(&vol)?);
    let stream = Stream::new(conn, 0)?;
    // Length 0: everything to the end of the volume.
    vol.download(&stream, 0, 0, 0)?;
    if let Err(stop) = receive(&stream, part.as_file_mut(), job) {
        let _ = stream.abort();
        return Err(stop);
    }
    stream.finish()?;
    part.as_file()
        .sync_all()
        .map_err(|e| Stop::Failed(format!("writing {}: {e}", dest.display())))?;
    // No-clobber: a file created at `dest` meanwhile is not replaced either.
    part.persist_noclobber(dest)
        .map_err(|e| Stop::Failed(format!("cannot create {}: {}", dest.display(), e.error)))?;
    Ok(())
}

/// The first `diskimage::HEAD_BYTES` of a volume (fewer when it is shorter).
pub(super) fn head(conn: &Connect, pool: &str, name: &str) -> Result<Vec<u8>, String> {
    let read = || -> Result<Vec<u8>, Stop> {
        let vol = volume(conn, pool, name)?;
        let stream = Stream::new(conn, 0)?;
        vol.download(&stream, 0, crate::diskimage::HEAD_BYTES, 0)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; crate::diskimage::HEAD_BYTES as usize];
        while (out.len() as u64) < crate::diskimage::HEAD_BYTES {
            let n = stream.recv(&mut buf)?;
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        let _ = stream.finish();
        Ok(out)
    };
    read().map_err(|e| match e {
        Stop::Failed(m) => m,
        Stop::Cancelled => "cancelled".into(),
    })
}

/// Bytes a download of `vol` yields: the physical size (a qcow2 file's length, a block
/// device's size), which is what the stream carries, not the guest-visible capacity.
fn download_size(vol: &StorageVol) -> Result<u64, Stop> {
    let physical = vol
        .info_flags(virt::sys::VIR_STORAGE_VOL_GET_PHYSICAL)
        .map(|i| i.allocation)
        .unwrap_or(0);
    if physical > 0 {
        return Ok(physical);
    }
    Ok(vol.info()?.capacity)
}

fn receive(stream: &Stream, out: &mut File, job: &Job) -> Result<(), Stop> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        if job.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let n = stream.recv(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        // A blocking stream never returns -2 (no data yet); anything negative is an error.
        if n < 0 {
            return Err(Stop::Failed(
                "the host ended the download with an error".into(),
            ));
        }
        out.write_all(&buf[..n as usize])
            .map_err(|e| Stop::Failed(format!("writing the download: {e}")))?;
        job.advance(n as u64);
    }
}
