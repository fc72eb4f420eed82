//! Enums whose names in TOML, JSON, Parquet and messages are written once.
//!
//! `named_enum!` declares the enum (with what it is called in messages) and each variant's
//! name beside it, and derives from that one table `name()`, `ALL`, `NAMES`, `Display`, `FromStr` and serde (as the plain name,
//! with serde's own "unknown variant" message for a wrong one).

/// Declares a fieldless enum with one name per variant; see the module docs.
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every variant's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name used in files and messages.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn from_name(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|variant| variant.name() == text)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<$name, String> {
                $name::from_name(text).ok_or_else(|| {
                    format!(
                        "unknown {} `{text}`; expected one of {}",
                        $what,
                        Self::NAMES.join(", ")
                    )
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                $name::from_name(&text).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::unknown_variant(&text, Self::NAMES)
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::named_enum! {
        enum Colour ("colour") {
            Red = "red",
            DarkBlue = "dark-blue",
        }
    }

    #[test]
    fn names_round_trip_through_serde_and_text() {
        assert_eq!(Colour::DarkBlue.name(), "dark-blue");
        assert_eq!("red".parse::<Colour>(), Ok(Colour::Red));
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark-blue\""
        );
        let back: Colour = serde_json::from_str("\"dark-blue\"").unwrap();
        assert_eq!(back, Colour::DarkBlue);
    }

    #[test]
    fn a_wrong_name_lists_the_right_ones() {
        let error = serde_json::from_str::<Colour>("\"green\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unknown variant `green`, expected `red` or `dark-blue`"),
            "{error}"
        );
        assert!(
            "green"
                .parse::<Colour>()
                .unwrap_err()
                .contains("red, dark-blue")
        );
    }
}
