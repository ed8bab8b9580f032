//! The screen with the camera in a bubble, composited into one picture.
//!
//! [`BubbleStyle`] says how the bubble looks and where it sits; a
//! [`BubbleControl`] lets the user move it while recording. The compositing
//! source itself wraps a screen source and a camera source behind the same
//! [`crate::VideoSource`] trait, so the recorder sees one picture.

mod bubble;
mod composer;
mod compositor;
mod picture;

use std::sync::{Arc, Mutex};

pub use bubble::{bubble_rect, BubbleMask, BUBBLE_MARGIN};
pub use compositor::ScreenWithBubble;
pub use picture::composite_size;

/// The bubble's outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BubbleShape {
    #[default]
    Circle,
    RoundedSquare,
}

/// The bubble's size, relative to the picture's height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BubbleSize {
    Small,
    #[default]
    Medium,
    Large,
}

/// Which corner of the picture the bubble sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Corner {
    TopLeft,
    TopRight,
    BottomLeft,
    #[default]
    BottomRight,
}

/// How the bubble looks and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BubbleStyle {
    pub shape: BubbleShape,
    pub size: BubbleSize,
    pub corner: Corner,
}

macro_rules! labels {
    ($ty:ty { $($variant:ident => $label:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order a picker shows them.
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];

            /// The stable name settings, the CLI and the UI use.
            pub fn label(self) -> &'static str {
                match self { $(<$ty>::$variant => $label),+ }
            }

            /// The value a [`Self::label`] names.
            pub fn from_label(label: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.label() == label)
            }
        }
    };
}

labels!(BubbleShape { Circle => "circle", RoundedSquare => "rounded-square" });
labels!(BubbleSize { Small => "small", Medium => "medium", Large => "large" });
labels!(Corner {
    TopLeft => "top-left",
    TopRight => "top-right",
    BottomLeft => "bottom-left",
    BottomRight => "bottom-right",
});

impl BubbleSize {
    /// The bubble's diameter as a fraction of the picture's height.
    pub fn fraction_of_height(self) -> f32 {
        match self {
            BubbleSize::Small => 0.20,
            BubbleSize::Medium => 0.28,
            BubbleSize::Large => 0.38,
        }
    }
}

/// A handle on a running composite's bubble: the recorder thread reads it for
/// every picture, the UI changes it at any time. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct BubbleControl {
    style: Arc<Mutex<BubbleStyle>>,
}

impl BubbleControl {
    pub fn new(style: BubbleStyle) -> Self {
        BubbleControl {
            style: Arc::new(Mutex::new(style)),
        }
    }

    pub fn style(&self) -> BubbleStyle {
        // A poisoned lock still holds a valid style: it is plain data.
        *self.style.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_style(&self, style: BubbleStyle) {
        *self.style.lock().unwrap_or_else(|p| p.into_inner()) = style;
    }

    pub fn set_corner(&self, corner: Corner) {
        self.style.lock().unwrap_or_else(|p| p.into_inner()).corner = corner;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_back() {
        for c in Corner::ALL {
            assert_eq!(Corner::from_label(c.label()), Some(*c));
        }
        for s in BubbleShape::ALL {
            assert_eq!(BubbleShape::from_label(s.label()), Some(*s));
        }
        for s in BubbleSize::ALL {
            assert_eq!(BubbleSize::from_label(s.label()), Some(*s));
        }
        assert_eq!(Corner::from_label("middle"), None);
    }

    #[test]
    fn a_control_moves_the_bubble_for_every_clone() {
        let control = BubbleControl::new(BubbleStyle::default());
        let other = control.clone();
        other.set_corner(Corner::TopLeft);
        assert_eq!(control.style().corner, Corner::TopLeft);
    }
}
