// Speech for the transcript tests: the real whisper tiny.en test model (made by
// scripts/setup and scripts/test without internet), the settings that point the app at
// it, and clips of espeak-ng speech over a moving test picture.

import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The test model: $PIGEON_TEST_WHISPER_MODEL, or where scripts/test converts it. */
export const testModel =
  process.env.PIGEON_TEST_WHISPER_MODEL ?? path.join(process.env.HOME ?? "/root", ".cache", "pigeon", "models", "ggml-tiny.en.bin");

/** The settings TOML section that points transcription at the test model. */
export const transcriptionSettings = `\n[transcription]\nenabled = true\nmodel = "tiny.en"\nmodel_path = "${testModel}"\n`;

/**
 * A 720p clip of spoken sentences over a moving test picture, as `pigeon record --source`
 * takes it: each part `{ text, before, after, voice }` is `before` seconds of quiet, the
 * text spoken by espeak-ng (`voice` as `-v`/`-s` arguments, default its own voice), then
 * `after` seconds of quiet.
 */
export async function speechClip(dir, parts) {
  const pieces = [];
  for (const [i, { text, before = 0, after = 0, voice = [] }] of parts.entries()) {
    const said = path.join(dir, `said-${i}.wav`);
    const piece = path.join(dir, `piece-${i}.wav`);
    await run("espeak-ng", [...voice, "-w", said, text]);
    await run("sox", [said, "-r", "48000", "-c", "1", piece, "pad", String(before), String(after)]);
    pieces.push(piece);
  }
  const speech = path.join(dir, "speech.wav");
  const clip = path.join(dir, "speech.mp4");
  if (pieces.length === 1) {
    await run("cp", [pieces[0], speech]);
  } else {
    await run("sox", [...pieces, speech]);
  }
  await run("ffmpeg", [
    "-v", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
    "-i", speech,
    "-shortest", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
    clip,
  ]);
  return clip;
}
