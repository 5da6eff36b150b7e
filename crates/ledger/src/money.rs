//! Money: ISO 4217 currencies with their exponents, and amounts as integer minor units.
//! No floats anywhere: amounts are parsed from decimal text digit by digit.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency and its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// The currencies pqbank knows, with their ISO 4217 exponents.
const CURRENCIES: &[(&str, u8)] = &[
    ("EUR", 2),
    ("USD", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("ISK", 0),
    ("BHD", 3),
    ("KWD", 3),
    ("OMR", 3),
    ("JOD", 3),
    ("TND", 3),
];

impl Currency {
    /// The euro.
    pub const EUR: Self = Self {
        code: *b"EUR",
        exponent: 2,
    };
    /// The US dollar.
    pub const USD: Self = Self {
        code: *b"USD",
        exponent: 2,
    };
    /// The yen: no minor unit.
    pub const JPY: Self = Self {
        code: *b"JPY",
        exponent: 0,
    };
    /// The Bahraini dinar: three decimals.
    pub const BHD: Self = Self {
        code: *b"BHD",
        exponent: 3,
    };

    /// The alphabetic code.
    #[must_use]
    pub fn code(&self) -> &str {
        core::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Number of decimals of the minor unit.
    #[must_use]
    pub const fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        let upper = s.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == upper)
            .and_then(|(code, exponent)| {
                Some(Self {
                    code: code.as_bytes().try_into().ok()?,
                    exponent: *exponent,
                })
            })
            .ok_or(MoneyError::UnknownCurrency)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, MoneyError> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why an amount was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing was entered.
    #[error("enter an amount")]
    Empty,
    /// A minus sign: amounts are always positive; the direction comes from the transfer kind.
    #[error("amounts cannot be negative")]
    Negative,
    /// Zero moves nothing.
    #[error("the amount must be more than zero")]
    Zero,
    /// More decimals than the currency has.
    #[error("{currency} has at most {max} decimals")]
    TooManyDecimals {
        /// The currency.
        currency: String,
        /// Its exponent.
        max: u8,
    },
    /// Larger than the ledger can hold.
    #[error("the amount is too large")]
    Overflow,
    /// Not a plain decimal number (no thousands separators, no exponent).
    #[error("not a number: use digits and one decimal point, without separators")]
    Invalid,
    /// The text names another currency than the account's.
    #[error("the amount is in {found}, the account is in {expected}")]
    WrongCurrency {
        /// The account's currency.
        expected: String,
        /// The currency in the text.
        found: String,
    },
    /// Not an ISO 4217 code pqbank knows.
    #[error("unknown currency")]
    UnknownCurrency,
    /// Arithmetic on amounts of different currencies.
    #[error("currencies differ")]
    CurrencyMismatch,
}

/// A positive amount of money in integer minor units. Deserialising goes through
/// [`Amount::from_minor`], so zero and negatives never get in that way either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "AmountFields")]
pub struct Amount {
    minor: i64,
    currency: Currency,
}

/// The serialised shape of an [`Amount`], checked on the way in.
#[derive(Deserialize)]
struct AmountFields {
    minor: i64,
    currency: Currency,
}

impl TryFrom<AmountFields> for Amount {
    type Error = MoneyError;
    fn try_from(f: AmountFields) -> Result<Self, MoneyError> {
        Self::from_minor(f.minor, f.currency)
    }
}

impl Amount {
    /// An amount from minor units; zero and negatives are refused.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        match minor {
            m if m < 0 => Err(MoneyError::Negative),
            0 => Err(MoneyError::Zero),
            _ => Ok(Self { minor, currency }),
        }
    }

    /// Parses decimal text such as `1234.50`, optionally followed or preceded by the
    /// currency code (`1234.50 EUR`), exactly: no floats, no rounding.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let number = strip_currency(text.trim(), currency)?;
        if number.is_empty() {
            return Err(MoneyError::Empty);
        }
        if number.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let number = number.strip_prefix('+').unwrap_or(number);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !digits_only(whole) || !digits_only(fraction)
        {
            return Err(MoneyError::Invalid);
        }
        if fraction.len() > usize::from(currency.exponent) {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.to_string(),
                max: currency.exponent,
            });
        }
        let mut minor: i64 = 0;
        let padding = usize::from(currency.exponent) - fraction.len();
        for digit in whole
            .bytes()
            .chain(fraction.bytes())
            .chain(std::iter::repeat_n(b'0', padding))
        {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(digit - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        Self::from_minor(minor, currency)
    }

    /// Minor units.
    #[must_use]
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    #[must_use]
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// Checked sum of two amounts of one currency.
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Self::from_minor(minor, self.currency)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            format_minor(self.minor, self.currency.exponent),
            self.currency
        )
    }
}

/// Formats signed minor units as a decimal string with the currency's decimals.
#[must_use]
pub fn format_minor(minor: i64, exponent: u8) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{magnitude}");
    }
    let scale = 10u64.pow(u32::from(exponent));
    format!(
        "{sign}{}.{:0width$}",
        magnitude / scale,
        magnitude % scale,
        width = usize::from(exponent)
    )
}

fn strip_currency(text: &str, currency: Currency) -> Result<&str, MoneyError> {
    let is_code = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic());
    let (number, code) = match (text.split_once(' '), text.rsplit_once(' ')) {
        (Some((head, tail)), _) if is_code(head) => (tail.trim(), Some(head)),
        (_, Some((head, tail))) if is_code(tail) => (head.trim(), Some(tail)),
        _ => (text, None),
    };
    if let Some(code) = code
        && !code.eq_ignore_ascii_case(currency.code())
    {
        return Err(MoneyError::WrongCurrency {
            expected: currency.to_string(),
            found: code.to_ascii_uppercase(),
        });
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves exact parsing per exponent and each typed error.
    #[test]
    fn parse_exactly_or_refuse() {
        let eur = Currency::EUR;
        assert_eq!(Amount::parse("1234.5", eur).map(|a| a.minor()), Ok(123_450));
        assert_eq!(Amount::parse("0.01", eur).map(|a| a.minor()), Ok(1));
        assert_eq!(Amount::parse(".5", eur).map(|a| a.minor()), Ok(50));
        assert_eq!(Amount::parse("12 EUR", eur).map(|a| a.minor()), Ok(1200));
        assert_eq!(Amount::parse("eur 12", eur).map(|a| a.minor()), Ok(1200));
        assert_eq!(
            Amount::parse("500", Currency::JPY).map(|a| a.minor()),
            Ok(500)
        );
        assert_eq!(
            Amount::parse("1.234", Currency::BHD).map(|a| a.minor()),
            Ok(1234)
        );
        assert_eq!(Amount::parse("", eur), Err(MoneyError::Empty));
        assert_eq!(Amount::parse("-5", eur), Err(MoneyError::Negative));
        assert_eq!(Amount::parse("0.00", eur), Err(MoneyError::Zero));
        assert!(matches!(
            Amount::parse("1.234", eur),
            Err(MoneyError::TooManyDecimals { max: 2, .. })
        ));
        assert!(matches!(
            Amount::parse("1.5", Currency::JPY),
            Err(MoneyError::TooManyDecimals { max: 0, .. })
        ));
        assert_eq!(
            Amount::parse("99999999999999999999", eur),
            Err(MoneyError::Overflow)
        );
        for bad in ["1,000.00", "1e5", "abc", "1.2.3", ".", "1 000", "NaN"] {
            assert_eq!(Amount::parse(bad, eur), Err(MoneyError::Invalid), "{bad}");
        }
        assert!(matches!(
            Amount::parse("5 USD", eur),
            Err(MoneyError::WrongCurrency { .. })
        ));
        assert_eq!("XXX".parse::<Currency>(), Err(MoneyError::UnknownCurrency));
    }

    /// Proves formatting uses the currency's exponent and round-trips through parsing.
    #[test]
    fn format_round_trips() {
        assert_eq!(format_minor(123_450, 2), "1234.50");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(7, 0), "7");
        assert_eq!(format_minor(1234, 3), "1.234");
        let a = Amount::from_minor(987_654, Currency::EUR).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Amount::parse(&a.to_string(), Currency::EUR), Ok(a));
    }
}
