//! The per-process trace file: one shared memory map over the whole size cap, grown on disk as chunks are
//! allocated. Records land in the page cache the moment they are stored, so the file survives `os._exit`,
//! SIGKILL and segfaults of the writer; only power loss can take what the kernel has not flushed yet.
//!
//! Everything here runs with the GIL held (chunk allocation is the slow path of the profile callback), so there is
//! no locking; the format is `emberscope_core::import::exact`.

use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::path::Path;

use emberscope_core::import::exact::{self as fmt, off};

/// Payload bytes of a records chunk: 4,094 calls of 16 bytes, the chunk with its header a round 64 KiB.
pub const RECORDS_CAP: usize = (64 << 10) - fmt::CHUNK_HEADER_LEN;
const CODES_CAP: usize = (16 << 10) - fmt::CHUNK_HEADER_LEN;
const META_CAP: usize = (4 << 10) - fmt::CHUNK_HEADER_LEN;
/// The file grows on disk by this much at a time (reserved with fallocate, so a full disk is an error we see
/// when growing, not a SIGBUS when a page is first written).
const GROW_STEP: usize = 8 << 20;
/// Linux 5.14's madvise advice that faults pages in writable (not in every libc crate version).
const MADV_POPULATE_WRITE: libc::c_int = 23;

/// Why no chunk could be had.
pub enum Full {
    /// The size cap is reached.
    Cap,
    /// The disk refused to grow the file.
    Disk(io::Error),
}

/// A chunk the writer has handed out: where its payload is and where its committed length goes.
pub struct Chunk {
    pub offset: usize,
    pub payload: *mut u8,
    pub len: *mut u32,
    pub cap: u32,
}

struct Appender {
    chunk: Option<Chunk>,
    pos: usize,
}

pub struct Writer {
    fd: libc::c_int,
    base: *mut u8,
    reserve: usize,
    file_len: usize,
    cursor: usize,
    serial: u64,
    ring_window_ns: u64,
    /// Retired records chunks in allocation order, with the end of their last call (ns since start).
    retired: VecDeque<(usize, u64)>,
    codes: Appender,
    meta: Appender,
    pub path: String,
}

pub struct Options {
    pub pid: u32,
    pub ppid: u32,
    pub start_mono: u64,
    pub start_unix: u64,
    pub max_bytes: usize,
    pub ring_window_ns: u64,
    pub flags: u32,
}

impl Writer {
    pub fn create(path: &Path, o: &Options) -> io::Result<Writer> {
        let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| io::Error::other("the path has a NUL byte"))?;
        let fd = unsafe { libc::open(cpath.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC, 0o644) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // The mapping covers the whole cap up front (address space only; MAP_SHARED file pages are not charged
        // to memory), so chunks never move and a pointer into the map stays valid for the life of the writer.
        let reserve = o.max_bytes.max(1 << 20);
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), reserve, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0)
        };
        if base == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let mut w = Writer {
            fd,
            base: base as *mut u8,
            reserve,
            file_len: 0,
            cursor: 4096,
            serial: 0,
            ring_window_ns: o.ring_window_ns,
            retired: VecDeque::new(),
            codes: Appender { chunk: None, pos: 0 },
            meta: Appender { chunk: None, pos: 0 },
            path: path.to_string_lossy().into_owned(),
        };
        if let Err(e) = w.grow_to(4096) {
            drop(w);
            let _ = std::fs::remove_file(path);
            return Err(match e {
                Full::Disk(e) => e,
                Full::Cap => io::Error::other("the size cap is smaller than the file header"),
            });
        }
        w.put_u32(off::VERSION, fmt::VERSION);
        // The header region is a whole page so chunks start page-aligned.
        w.put_u32(off::HEADER_LEN, 4096);
        w.put_u32(off::PID, o.pid);
        w.put_u32(off::PPID, o.ppid);
        w.put_u64(off::START_MONO, o.start_mono);
        w.put_u64(off::START_UNIX, o.start_unix);
        w.put_u64(off::ALLOCATED, 4096);
        w.put_u32(off::STATE, fmt::STATE_RECORDING);
        w.put_u32(off::FLAGS, o.flags);
        w.put_u64(off::RING_WINDOW, o.ring_window_ns);
        w.put_u64(off::MAX_BYTES, reserve as u64);
        // Magic last: a reader never sees a header that claims to be ours before its fields are set.
        unsafe { std::ptr::copy_nonoverlapping(fmt::MAGIC.as_ptr(), w.base, 8) };
        Ok(w)
    }

    fn put_u32(&mut self, at: usize, v: u32) {
        unsafe { std::ptr::write_volatile(self.base.add(at) as *mut u32, v.to_le()) }
    }
    fn put_u64(&mut self, at: usize, v: u64) {
        unsafe { std::ptr::write_volatile(self.base.add(at) as *mut u64, v.to_le()) }
    }

    pub fn set_state(&mut self, state: u32) {
        self.put_u32(off::STATE, state);
    }

    /// Gives back the disk reserved past the last chunk (the file of a run that ended cleanly is no bigger than
    /// its data). Only once nothing writes any more.
    pub fn trim(&mut self) {
        if unsafe { libc::ftruncate(self.fd, self.cursor as libc::off_t) } == 0 {
            self.file_len = self.cursor;
        }
    }

    pub fn bytes_used(&self) -> usize {
        self.cursor
    }

    fn grow_to(&mut self, want: usize) -> Result<(), Full> {
        if want > self.reserve {
            return Err(Full::Cap);
        }
        if want <= self.file_len {
            return Ok(());
        }
        // Doubling from 256 KiB keeps a short run's file small; past GROW_STEP it grows by GROW_STEP.
        let new_len = (self.file_len * 2).clamp(256 << 10, self.file_len + GROW_STEP).max(want).min(self.reserve);
        let rc = unsafe { libc::posix_fallocate(self.fd, self.file_len as libc::off_t, (new_len - self.file_len) as libc::off_t) };
        if rc != 0 {
            // Some filesystems cannot fallocate; ftruncate is the fallback there (sparse, as every other writer).
            if rc != libc::EOPNOTSUPP && rc != libc::EINVAL {
                return Err(Full::Disk(io::Error::from_raw_os_error(rc)));
            }
            if unsafe { libc::ftruncate(self.fd, new_len as libc::off_t) } != 0 {
                return Err(Full::Disk(io::Error::last_os_error()));
            }
        }
        self.file_len = new_len;
        Ok(())
    }

    fn alloc(&mut self, kind: u32, cap: usize, tid: u64) -> Result<Chunk, Full> {
        let offset = self.cursor;
        let total = fmt::CHUNK_HEADER_LEN + cap;
        self.grow_to(offset + total)?;
        self.cursor += total;
        self.serial += 1;
        let h = unsafe { self.base.add(offset) };
        unsafe {
            (h.add(4) as *mut u32).write_volatile(cap as u32);
            (h.add(8) as *mut u32).write_volatile(0);
            (h.add(16) as *mut u64).write_volatile(tid);
            (h.add(24) as *mut u64).write_volatile(self.serial);
            (h as *mut u32).write_volatile(kind);
        }
        self.put_u64(off::ALLOCATED, self.cursor as u64);
        if kind == fmt::KIND_RECORDS {
            // Maps the chunk's pages in one call instead of one page fault per 4 KiB on the hot path (256 calls
            // apart). Best effort: kernels before 5.14 say EINVAL and the pages fault in as before.
            unsafe { libc::madvise(h as *mut libc::c_void, total, MADV_POPULATE_WRITE) };
        }
        Ok(self.chunk_at(offset))
    }

    fn chunk_at(&self, offset: usize) -> Chunk {
        let h = unsafe { self.base.add(offset) };
        let cap = unsafe { (h.add(4) as *const u32).read_volatile() };
        Chunk { offset, payload: unsafe { h.add(fmt::CHUNK_HEADER_LEN) }, len: unsafe { h.add(8) as *mut u32 }, cap }
    }

    /// A records chunk for thread `tid`. In ring mode a retired chunk whose last call ended more than the window
    /// ago is reused first; at the cap the oldest retired chunk is reused even if it is younger (the trace then
    /// keeps less than the window, and says so through `recycled_young`).
    pub fn records_chunk(&mut self, tid: u64, now_rel: u64) -> Result<(Chunk, bool), Full> {
        if self.ring_window_ns > 0 {
            if let Some(&(offset, end)) = self.retired.front() {
                if end + self.ring_window_ns < now_rel {
                    self.retired.pop_front();
                    return Ok((self.recycle(offset, tid), false));
                }
            }
            return match self.alloc(fmt::KIND_RECORDS, RECORDS_CAP, tid) {
                Err(Full::Cap) => match self.retired.pop_front() {
                    Some((offset, _)) => Ok((self.recycle(offset, tid), true)),
                    None => Err(Full::Cap),
                },
                other => other.map(|c| (c, false)),
            };
        }
        self.alloc(fmt::KIND_RECORDS, RECORDS_CAP, tid).map(|c| (c, false))
    }

    fn recycle(&mut self, offset: usize, tid: u64) -> Chunk {
        self.serial += 1;
        let h = unsafe { self.base.add(offset) };
        unsafe {
            // Length first: a writer that dies half-way leaves an empty chunk, never old records under a new owner.
            (h.add(8) as *mut u32).write_volatile(0);
            (h.add(16) as *mut u64).write_volatile(tid);
            (h.add(24) as *mut u64).write_volatile(self.serial);
        }
        let n = unsafe { (self.base.add(off::RECYCLED) as *const u64).read_volatile() } + 1;
        self.put_u64(off::RECYCLED, n);
        self.chunk_at(offset)
    }

    pub fn retire(&mut self, offset: usize, last_end: u64) {
        if self.ring_window_ns > 0 {
            self.retired.push_back((offset, last_end));
        }
    }

    /// Appends one code-table entry (already encoded, a multiple of 8 bytes).
    pub fn append_code(&mut self, entry: &[u8]) -> Result<(), Full> {
        let mut a = std::mem::replace(&mut self.codes, Appender { chunk: None, pos: 0 });
        let r = self.append_into(&mut a, fmt::KIND_CODES, CODES_CAP, entry);
        self.codes = a;
        r
    }

    /// Appends one meta entry (already encoded, a multiple of 4 bytes).
    pub fn append_meta(&mut self, entry: &[u8]) -> Result<(), Full> {
        let mut a = std::mem::replace(&mut self.meta, Appender { chunk: None, pos: 0 });
        let r = self.append_into(&mut a, fmt::KIND_META, META_CAP, entry);
        self.meta = a;
        r
    }

    fn append_into(&mut self, a: &mut Appender, kind: u32, cap: usize, entry: &[u8]) -> Result<(), Full> {
        let fits = a.chunk.as_ref().is_some_and(|c| a.pos + entry.len() <= c.cap as usize);
        if !fits {
            a.chunk = Some(self.alloc(kind, cap.max(entry.len()), 0)?);
            a.pos = 0;
        }
        let c = a.chunk.as_ref().unwrap();
        unsafe {
            std::ptr::copy_nonoverlapping(entry.as_ptr(), c.payload.add(a.pos), entry.len());
            a.pos += entry.len();
            // The entry is complete before the length that makes it visible.
            c.len.write_volatile(a.pos as u32);
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.reserve);
            libc::close(self.fd);
        }
    }
}

/// Encodes a code-table entry: see the format in `emberscope_core::import::exact`.
pub fn encode_code(id: u32, line: u32, native: bool, name: &str, file: &str) -> Vec<u8> {
    let name = truncate(name, 4000);
    let file = truncate(file, 4000);
    let mut e = Vec::with_capacity(16 + name.len() + file.len() + 8);
    e.extend_from_slice(&id.to_le_bytes());
    e.extend_from_slice(&line.to_le_bytes());
    e.extend_from_slice(&(native as u16).to_le_bytes());
    e.extend_from_slice(&(name.len() as u16).to_le_bytes());
    e.extend_from_slice(&(file.len() as u16).to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e.extend_from_slice(name.as_bytes());
    e.extend_from_slice(file.as_bytes());
    e.resize((e.len() + 7) & !7, 0);
    e
}

/// Encodes a meta entry: a JSON object with its length in front.
pub fn encode_meta(json: &str) -> Vec<u8> {
    let json = truncate(json, META_CAP - 8);
    let mut e = Vec::with_capacity(json.len() + 8);
    e.extend_from_slice(&(json.len() as u32).to_le_bytes());
    e.extend_from_slice(json.as_bytes());
    e.resize((e.len() + 3) & !3, 0);
    e
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
