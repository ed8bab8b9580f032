//! The mouse cursor, drawn into captured pictures: X servers leave it out of
//! `GetImage`, so it is read with XFixes `GetCursorImage` (position, hotspot and
//! a premultiplied ARGB picture) and blended in.

use x11rb::protocol::xfixes::{ConnectionExt as _, GetCursorImageReply};
use x11rb::rust_connection::RustConnection;

use super::grab::Rect;

/// Asks XFixes for its version (the server refuses cursor requests from a
/// client that has not). False when the server has no XFixes: pictures then
/// have no cursor.
pub(crate) fn init(conn: &RustConnection) -> bool {
    match conn.xfixes_query_version(4, 0).map(|c| c.reply()) {
        Ok(Ok(v)) if v.major_version >= 1 => true,
        other => {
            tracing::info!(reply = ?other.map(|r| r.map(|v| v.major_version)), "no XFixes: the cursor is not drawn into screen recordings");
            false
        }
    }
}

/// Sends the request now so its reply can travel with the picture's.
pub(crate) fn request(
    conn: &RustConnection,
) -> Option<x11rb::cookie::Cookie<'_, RustConnection, GetCursorImageReply>> {
    conn.xfixes_get_cursor_image().ok()
}

/// Blends the cursor into `picture` (B G R X rows of `area.width`), which shows
/// `area` of the root.
pub(crate) fn draw(cursor: &GetCursorImageReply, area: Rect, picture: &mut [u8]) {
    let (cw, ch) = (i32::from(cursor.width), i32::from(cursor.height));
    let left = i32::from(cursor.x) - i32::from(cursor.xhot) - area.x;
    let top = i32::from(cursor.y) - i32::from(cursor.yhot) - area.y;
    let (w, h) = (area.width as i32, area.height as i32);
    if cursor.cursor_image.len() < (cw * ch) as usize {
        return;
    }
    for cy in 0..ch {
        let y = top + cy;
        if y < 0 || y >= h {
            continue;
        }
        for cx in 0..cw {
            let x = left + cx;
            if x < 0 || x >= w {
                continue;
            }
            let argb = cursor.cursor_image[(cy * cw + cx) as usize];
            let a = argb >> 24;
            if a == 0 {
                continue;
            }
            let at = ((y * w + x) * 4) as usize;
            let px = &mut picture[at..at + 3];
            // Premultiplied: out = src + dst * (1 - alpha).
            let keep = 255 - a;
            for (i, shift) in [(0, 0u32), (1, 8), (2, 16)] {
                let src = (argb >> shift) & 0xff;
                let dst = u32::from(px[i]);
                px[i] = (src + (dst * keep + 127) / 255).min(255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(x: i16, y: i16, hot: u16, argb: u32) -> GetCursorImageReply {
        GetCursorImageReply {
            sequence: 0,
            length: 0,
            x,
            y,
            width: 2,
            height: 2,
            xhot: hot,
            yhot: hot,
            cursor_serial: 1,
            cursor_image: vec![argb; 4],
        }
    }

    #[test]
    fn an_opaque_cursor_covers_its_pixels_at_the_hotspot_offset() {
        let area = Rect {
            x: 10,
            y: 10,
            width: 4,
            height: 4,
        };
        let mut pic = vec![0u8; 4 * 4 * 4];
        // Pointer at root (12,12) with hotspot (1,1): top-left at picture (1,1).
        draw(&cursor(12, 12, 1, 0xff_20_40_60), area, &mut pic);
        let px = |x: usize, y: usize| &pic[(y * 4 + x) * 4..(y * 4 + x) * 4 + 3];
        assert_eq!(px(1, 1), [0x60, 0x40, 0x20]);
        assert_eq!(px(2, 2), [0x60, 0x40, 0x20]);
        assert_eq!(px(0, 0), [0, 0, 0]);
        assert_eq!(px(3, 3), [0, 0, 0]);
    }

    #[test]
    fn a_half_transparent_cursor_blends_and_one_off_the_picture_is_clipped() {
        let area = Rect {
            x: 0,
            y: 0,
            width: 2,
            height: 2,
        };
        let mut pic = vec![200u8; 2 * 2 * 4];
        // Premultiplied white at half alpha over 200: 128 + 200 * 127/255.
        draw(&cursor(1, 1, 0, 0x80_80_80_80), area, &mut pic);
        assert_eq!(pic[(3 * 4)..(3 * 4 + 3)], [228, 228, 228]);
        assert_eq!(pic[0..3], [200, 200, 200]);
    }
}
