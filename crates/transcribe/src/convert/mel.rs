//! The mel filterbank whisper.cpp reads from the model file: the same numbers OpenAI's
//! Whisper ships in `mel_filters.npz`, which are `librosa.filters.mel(sr=16000, n_fft=400,
//! n_mels=N)`: Slaney's mel scale (linear below 1 kHz, logarithmic above) with triangles
//! normalised to equal area ("slaney" norm). Computed here in f64 like librosa, stored as f32.

/// Whisper's sample rate and FFT size.
pub(crate) const SAMPLE_RATE: f64 = 16_000.0;
pub(crate) const N_FFT: usize = 400;

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// `n_mels` rows of `N_FFT / 2 + 1` weights, row after row.
pub(crate) fn mel_filters(n_mels: usize) -> Vec<f32> {
    let n_freqs = N_FFT / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_freqs)
        .map(|i| i as f64 * SAMPLE_RATE / N_FFT as f64)
        .collect();
    // n_mels + 2 points evenly spaced in mel between 0 Hz and Nyquist (numpy linspace).
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let points = n_mels + 2;
    let mel_f: Vec<f64> = (0..points)
        .map(|i| {
            let m = if i == points - 1 {
                hi
            } else {
                lo + (hi - lo) * i as f64 / (points - 1) as f64
            };
            mel_to_hz(m)
        })
        .collect();

    let mut weights = Vec::with_capacity(n_mels * n_freqs);
    for i in 0..n_mels {
        let lower_width = mel_f[i + 1] - mel_f[i];
        let upper_width = mel_f[i + 2] - mel_f[i + 1];
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for &f in &fft_freqs {
            let lower = (f - mel_f[i]) / lower_width;
            let upper = (mel_f[i + 2] - f) / upper_width;
            let w = lower.min(upper).max(0.0);
            // librosa writes the triangle into a float32 array, then scales it.
            weights.push((w as f32 as f64 * enorm) as f32);
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn are_slaneys_area_normalised_triangles() {
        let w = mel_filters(80);
        assert_eq!(w.len(), 80 * 201);
        // Row 0 by hand: Nyquist is 45.245 mel, so the first triangle spans 0, 37.24 and
        // 74.48 Hz; the 40 Hz bin sits on its falling side at (74.48 - 40) / 37.24 = 0.926,
        // times the Slaney norm 2 / 74.48.
        assert!((w[1] - 0.024_86).abs() < 2e-5, "{}", w[1]);
        assert_eq!(w[0], 0.0);
        assert_eq!(w[2], 0.0);
        // Each filter's triangle has area 2/(f_hi - f_lo) * (f_hi - f_lo)/2 = 1 in Hz, so the
        // weights over the 40 Hz bins sum to about 1/40 for the wide, well-sampled filters.
        let last: f32 = w[79 * 201..].iter().sum();
        assert!((last * 40.0 - 1.0).abs() < 0.05, "{last}");
        assert!(w.iter().all(|v| *v >= 0.0));
    }
}
