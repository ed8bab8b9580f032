//! [`Cut`]: one trim while the clip's packets stream through it, from the
//! first kept frame (re-encoded up to the next keyframe) to the last (copied).

use std::path::PathBuf;

use ffmpeg::util::frame;
use ffmpeg::{codec, decoder, Packet, Rational};
use ffmpeg_next as ffmpeg;

use super::{avc, frame_index, write_error};
use crate::encode::FrameConverter;
use crate::error::{MediaError, Result};

/// Where the kept video frames go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Before the first kept frame: the pictures since the last keyframe are held.
    Before,
    /// Decoding and re-encoding.
    Reencode,
    /// Copying packets.
    Copy,
    /// Past the last kept frame.
    Done,
}

/// The state of one trim while the clip's packets stream through.
pub(super) struct Cut {
    pub(super) path: PathBuf,
    pub(super) output: ffmpeg::format::context::Output,
    pub(super) video_tb: Rational,
    pub(super) audio_tb: Rational,
    pub(super) fps: u32,
    /// The input video's time base (decoded pictures carry their packets' timestamps).
    pub(super) input_tb: Rational,
    /// [`VideoIn::origin`].
    pub(super) origin: i64,
    /// First and last kept frame slot (inclusive).
    pub(super) first: i64,
    pub(super) last: i64,
    pub(super) smart: bool,
    /// The copied header's NAL length size: re-encoded pictures are
    /// rewritten to it (`None`: the header is the encoder's own).
    pub(super) length_size: Option<usize>,
    pub(super) encoder: ffmpeg::encoder::Video,
    pub(super) encoder_open: bool,
    pub(super) decoder: Option<decoder::Video>,
    pub(super) converter: FrameConverter,
    /// Packets since the last keyframe before the first kept frame.
    pub(super) held: Vec<Packet>,
    pub(super) phase: Phase,
    pub(super) reencoded: u64,
    pub(super) copied: u64,
    pub(super) last_seen: i64,
    /// The last output frame slot written: the clip's length, also when the
    /// recorder left a slot empty (a dropped frame keeps the picture before).
    pub(super) last_slot: i64,
}

impl Cut {
    pub(super) fn video_packet(
        &mut self,
        packet: &Packet,
        index: i64,
        params: &codec::Parameters,
    ) -> Result<()> {
        self.last_seen = self.last_seen.max(index);
        match self.phase {
            Phase::Before if index < self.first => {
                if packet.is_key() {
                    self.held.clear();
                }
                self.held.push(packet.clone());
            }
            Phase::Before if index > self.last => self.phase = Phase::Done,
            Phase::Before => {
                if self.smart && packet.is_key() {
                    self.phase = Phase::Copy;
                    self.copy(packet, index)?;
                } else {
                    self.phase = Phase::Reencode;
                    self.decoder = Some(open_decoder(params)?);
                    for held in std::mem::take(&mut self.held) {
                        self.decode(Some(&held))?;
                    }
                    self.decode(Some(packet))?;
                }
            }
            Phase::Reencode if index > self.last => {
                self.finish_reencode()?;
                self.phase = Phase::Done;
            }
            Phase::Reencode if self.smart && packet.is_key() => {
                self.finish_reencode()?;
                self.phase = Phase::Copy;
                self.copy(packet, index)?;
            }
            Phase::Reencode => self.decode(Some(packet))?,
            Phase::Copy if index > self.last => self.phase = Phase::Done,
            Phase::Copy => self.copy(packet, index)?,
            Phase::Done => {}
        }
        Ok(())
    }

    /// Sends one packet (or the end, `None`) to the decoder and re-encodes
    /// every kept picture that comes out.
    fn decode(&mut self, packet: Option<&Packet>) -> Result<()> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(());
        };
        let sent = match packet {
            Some(p) => decoder.send_packet(p),
            None => decoder.send_eof(),
        };
        if let Err(e) = sent {
            // A damaged picture is skipped: its neighbours still decode.
            tracing::debug!(error = %e, "a picture did not decode");
        }
        let mut picture = frame::Video::empty();
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(());
            };
            if decoder.receive_frame(&mut picture).is_err() {
                return Ok(());
            }
            let Some(pts) = picture.pts().or(picture.timestamp()) else {
                continue;
            };
            let index = frame_index(pts - self.origin, self.input_tb, self.fps);
            if index >= self.first && index <= self.last {
                self.encode(&mut picture, index - self.first)?;
            }
        }
    }

    fn encode(&mut self, picture: &mut frame::Video, slot: i64) -> Result<()> {
        if slot <= self.last_slot {
            // Two pictures in one slot (a clip at another rate than it says): the
            // first one stays, timestamps keep rising.
            return Ok(());
        }
        let fits = picture.format() == ffmpeg::format::Pixel::YUV420P
            && picture.width() == self.encoder.width()
            && picture.height() == self.encoder.height();
        let mut converted;
        let picture = if fits {
            picture
        } else {
            converted = self.converter.convert_frame(picture)?;
            &mut converted
        };
        picture.set_pts(Some(slot));
        // Decoded pictures carry their type, which libx264 would obey.
        picture.set_kind(ffmpeg::picture::Type::None);
        self.encoder
            .send_frame(picture)
            .map_err(|e| MediaError::ffmpeg("re-encoding a trimmed frame", e))?;
        self.reencoded += 1;
        self.last_slot = self.last_slot.max(slot);
        self.drain_encoder()
    }

    fn drain_encoder(&mut self) -> Result<()> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            if let Some(size) = self.length_size {
                let mut sample =
                    Packet::copy(&avc::to_length_prefixed(packet.data().unwrap_or(&[]), size));
                sample.set_pts(packet.pts());
                sample.set_dts(packet.dts());
                sample.set_flags(packet.flags());
                packet = sample;
            }
            packet.set_stream(0);
            packet.set_duration(1);
            packet.rescale_ts(Rational(1, self.fps as i32), self.video_tb);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| write_error(&self.path, "writing video", e))?;
        }
        Ok(())
    }

    /// Flushes the decoder and the encoder after the last re-encoded picture.
    pub(super) fn finish_reencode(&mut self) -> Result<()> {
        if self.decoder.is_some() {
            self.decode(None)?;
            self.decoder = None;
        }
        if self.encoder_open && self.reencoded > 0 {
            self.encoder_open = false;
            self.encoder
                .send_eof()
                .map_err(|e| MediaError::ffmpeg("finishing the re-encoded frames", e))?;
            self.drain_encoder()?;
        }
        Ok(())
    }

    fn copy(&mut self, packet: &Packet, index: i64) -> Result<()> {
        let slot = index - self.first;
        if slot <= self.last_slot {
            return Ok(());
        }
        let mut packet = packet.clone();
        packet.set_pts(Some(slot));
        packet.set_dts(Some(slot));
        packet.set_duration(1);
        packet.rescale_ts(Rational(1, self.fps as i32), self.video_tb);
        packet.set_position(-1);
        packet.set_stream(0);
        packet
            .write_interleaved(&mut self.output)
            .map_err(|e| write_error(&self.path, "writing video", e))?;
        self.copied += 1;
        self.last_slot = self.last_slot.max(slot);
        Ok(())
    }

    pub(super) fn audio_packet(
        &mut self,
        packet: &mut Packet,
        pts: i64,
        tb: Rational,
    ) -> Result<()> {
        let mut packet = packet.clone();
        packet.set_pts(Some(pts));
        packet.set_dts(Some(pts));
        packet.rescale_ts(tb, self.audio_tb);
        packet.set_position(-1);
        packet.set_stream(1);
        packet
            .write_interleaved(&mut self.output)
            .map_err(|e| write_error(&self.path, "writing audio", e))
    }
}

pub(super) fn open_decoder(params: &codec::Parameters) -> Result<decoder::Video> {
    let mut context = codec::context::Context::from_parameters(params.clone())
        .map_err(|e| MediaError::ffmpeg("opening the video decoder", e))?;
    // Frame threads: the pictures come out later but carry their timestamps.
    context.set_threading(ffmpeg::threading::Config {
        kind: ffmpeg::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    context
        .decoder()
        .video()
        .map_err(|e| MediaError::ffmpeg("opening the video decoder", e))
}
