//! Message text built without `core::fmt`, whose machinery would otherwise be linked
//! into the wasm: library code joins pieces with [`cat!`](crate::cat), not `format!`.

use alloc::string::String;

/// Something [`cat!`](crate::cat) can append to a string.
pub trait Piece {
    fn push_to(&self, out: &mut String);
}

impl Piece for str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for char {
    fn push_to(&self, out: &mut String) {
        out.push(*self);
    }
}

impl<T: Piece + ?Sized> Piece for &T {
    fn push_to(&self, out: &mut String) {
        (**self).push_to(out);
    }
}

impl<T: Piece + ?Sized> Piece for alloc::borrow::Cow<'_, T>
where
    T: alloc::borrow::ToOwned,
{
    fn push_to(&self, out: &mut String) {
        self.as_ref().push_to(out);
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn push_to(&self, out: &mut String) {
                push_u64(out, *self as u64);
            }
        }
    )*};
}
unsigned!(u16, u32, u64, usize);

impl Piece for i64 {
    fn push_to(&self, out: &mut String) {
        if *self < 0 {
            out.push('-');
        }
        push_u64(out, self.unsigned_abs());
    }
}

fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    for d in digits.iter().skip(start) {
        out.push(char::from(*d));
    }
}

/// Joins the pieces (strings, chars, integers) into one `String`.
#[macro_export]
macro_rules! cat {
    ($($piece:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut out = ::alloc::string::String::new();
        $( $crate::core::text::Piece::push_to(&$piece, &mut out); )*
        out
    }};
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use alloc::borrow::Cow;
    use alloc::string::{String, ToString};

    #[test]
    fn joins_pieces_like_format() {
        let owned = String::from("b");
        let cow: Cow<'_, str> = Cow::Borrowed("c");
        assert_eq!(
            cat!("a", owned, cow, '/', 0u32, 7u16, u64::MAX, -12i64, 305usize),
            "abc/07".to_string() + &u64::MAX.to_string() + "-12305"
        );
        assert_eq!(cat!(i64::MIN), i64::MIN.to_string());
        assert_eq!(cat!(), "");
    }
}
