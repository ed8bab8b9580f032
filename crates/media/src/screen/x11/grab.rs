//! Reading a rectangle of the root window into memory: MIT-SHM when the
//! server has it (the server writes straight into a segment we map, so a
//! 1080p picture costs one memcpy), plain `GetImage` otherwise (the picture
//! travels through the socket, several times slower).
//!
//! It reads only 32-bit little-endian ZPixmap pictures (depth 24 or 32), which
//! is what every X server on x86 and ARM gives: rows of B G R X, no padding.

use std::os::fd::AsRawFd;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat, ImageOrder, Window};
use x11rb::rust_connection::RustConnection;

/// A rectangle in root coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// The part of `self` inside `bounds` (None when they do not overlap).
    pub fn intersect(&self, bounds: &Rect) -> Option<Rect> {
        let x0 = self.x.max(bounds.x);
        let y0 = self.y.max(bounds.y);
        let x1 = (self.x + self.width as i32).min(bounds.x + bounds.width as i32);
        let y1 = (self.y + self.height as i32).min(bounds.y + bounds.height as i32);
        (x1 > x0 && y1 > y0).then(|| Rect {
            x: x0,
            y: y0,
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
        })
    }
}

/// Why the root's pixels cannot be read as B G R X.
pub(crate) fn check_pixel_layout(conn: &RustConnection, screen_num: usize) -> Result<(), String> {
    let setup = conn.setup();
    let depth = setup.roots[screen_num].root_depth;
    let bpp = setup
        .pixmap_formats
        .iter()
        .find(|f| f.depth == depth)
        .map(|f| f.bits_per_pixel);
    if !matches!(depth, 24 | 32)
        || bpp != Some(32)
        || setup.image_byte_order != ImageOrder::LSB_FIRST
    {
        return Err(format!(
            "the X server's screen has {depth}-bit colour stored as {bpp:?} bits a pixel \
             ({:?}), which Pigeon cannot read; run the desktop in 24-bit colour",
            setup.image_byte_order
        ));
    }
    Ok(())
}

/// Where pictures are read into.
pub(crate) enum Grabber {
    Shm(ShmSegment),
    /// The server has no MIT-SHM (a remote display): pictures come over the socket.
    Plain,
}

impl Grabber {
    /// A grabber for pictures of up to `capacity` bytes: shared memory when the
    /// server offers it, else plain requests (logged once).
    pub fn new(conn: &RustConnection, capacity: usize) -> Grabber {
        match ShmSegment::create(conn, capacity) {
            Ok(seg) => Grabber::Shm(seg),
            Err(why) => {
                tracing::info!(
                    "screen capture without shared memory ({why}): each picture goes through the X socket"
                );
                Grabber::Plain
            }
        }
    }

    pub fn uses_shm(&self) -> bool {
        matches!(self, Grabber::Shm(_))
    }

    /// Reads `rect` of `root` (which must lie inside the root) as tightly packed
    /// B G R X into `out` (replacing its contents).
    pub fn grab(
        &mut self,
        conn: &RustConnection,
        root: Window,
        rect: Rect,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let len = rect.width as usize * rect.height as usize * 4;
        if let Grabber::Shm(seg) = self {
            if seg.len < len {
                // The screen grew: a larger segment replaces the old one.
                match ShmSegment::create(conn, len) {
                    Ok(bigger) => {
                        let old = std::mem::replace(seg, bigger);
                        let _ = conn.shm_detach(old.seg);
                    }
                    Err(why) => {
                        tracing::warn!("screen capture falls back to plain requests: {why}");
                        *self = Grabber::Plain;
                    }
                }
            }
        }
        match self {
            Grabber::Shm(seg) => {
                let reply = conn
                    .shm_get_image(
                        root,
                        rect.x as i16,
                        rect.y as i16,
                        rect.width as u16,
                        rect.height as u16,
                        !0,
                        ImageFormat::Z_PIXMAP.into(),
                        seg.seg,
                        0,
                    )
                    .map_err(|e| e.to_string())?
                    .reply()
                    .map_err(|e| e.to_string())?;
                if (reply.size as usize) < len {
                    return Err(format!(
                        "the X server gave {} bytes for a {}x{} picture",
                        reply.size, rect.width, rect.height
                    ));
                }
                out.clear();
                out.extend_from_slice(&seg.bytes()[..len]);
            }
            Grabber::Plain => {
                let reply = conn
                    .get_image(
                        ImageFormat::Z_PIXMAP,
                        root,
                        rect.x as i16,
                        rect.y as i16,
                        rect.width as u16,
                        rect.height as u16,
                        !0,
                    )
                    .map_err(|e| e.to_string())?
                    .reply()
                    .map_err(|e| e.to_string())?;
                if reply.data.len() < len {
                    return Err(format!(
                        "the X server gave {} bytes for a {}x{} picture",
                        reply.data.len(),
                        rect.width,
                        rect.height
                    ));
                }
                let mut data = reply.data;
                data.truncate(len);
                *out = data;
            }
        }
        Ok(())
    }

    /// Gives the segment back to the server (also done on drop, without the
    /// connection, by unmapping: the server frees it when we disconnect).
    pub fn release(&mut self, conn: &RustConnection) {
        if let Grabber::Shm(seg) = self {
            let _ = conn.shm_detach(seg.seg);
            let _ = conn.flush();
        }
        *self = Grabber::Plain;
    }
}

/// A shared memory segment the X server created (MIT-SHM 1.2 `CreateSegment`)
/// and we mapped read-only. The server's fd-based segment needs no SysV IPC
/// namespace in common with the server and cannot leak a segment when we crash.
pub(crate) struct ShmSegment {
    seg: shm::Seg,
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone and only read through
// `&self`; moving it to another thread moves nothing the kernel ties to a thread.
unsafe impl Send for ShmSegment {}

impl ShmSegment {
    fn create(conn: &RustConnection, len: usize) -> Result<ShmSegment, String> {
        if conn
            .extension_information(shm::X11_EXTENSION_NAME)
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Err("the X server has no MIT-SHM extension".into());
        }
        let version = conn
            .shm_query_version()
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        if (version.major_version, version.minor_version) < (1, 2) {
            return Err(format!(
                "the X server's MIT-SHM is version {}.{}, fd segments need 1.2",
                version.major_version, version.minor_version
            ));
        }
        let size = u32::try_from(len).map_err(|_| format!("a {len}-byte picture is too large"))?;
        let seg = conn.generate_id().map_err(|e| e.to_string())?;
        let reply = conn
            .shm_create_segment(seg, size, false)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        // SAFETY: a fresh shared mapping of the fd the server just sent, of the
        // size we asked for; nothing else in this process refers to it. The fd
        // may be closed afterwards: the mapping keeps the memory.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                reply.shm_fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            let err = std::io::Error::last_os_error();
            let _ = conn.shm_detach(seg);
            return Err(format!("mapping the shared memory segment failed: {err}"));
        }
        Ok(ShmSegment { seg, ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live mapping of `len` readable bytes (unmapped only
        // in drop). The server writes into it only while we wait for a
        // GetImage reply, never while this slice is read.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; no slice of it
        // outlives `self`.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}
