//! Device kinds, the attributes each kind reports, and the value rules of each attribute.
//!
//! Attribute names follow FIWARE Smart Data Models where one exists (WasteContainer
//! `fillingLevel`, ParkingSpot `status`, OffStreetParking `availableSpotNumber`,
//! WeatherObserved `temperature`, `dewPoint` and `relativeHumidity`). Units are UN/CEFACT common
//! codes, as those models use in `unitCode`.

use serde::{Deserialize, Serialize};

/// The kind of a device, which fixes the attributes it may report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    ParkingSpaceSensor,
    LotCounter,
    PeopleCounter,
    VehicleCounter,
    WasteBinFill,
    TemperatureHumidity,
    EnergyMeter,
    MerchantConsumption,
    EmergencyButton,
    WaterMeter,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 10] = [
        DeviceKind::ParkingSpaceSensor,
        DeviceKind::LotCounter,
        DeviceKind::PeopleCounter,
        DeviceKind::VehicleCounter,
        DeviceKind::WasteBinFill,
        DeviceKind::TemperatureHumidity,
        DeviceKind::EnergyMeter,
        DeviceKind::MerchantConsumption,
        DeviceKind::EmergencyButton,
        DeviceKind::WaterMeter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::ParkingSpaceSensor => "parking_space_sensor",
            DeviceKind::LotCounter => "lot_counter",
            DeviceKind::PeopleCounter => "people_counter",
            DeviceKind::VehicleCounter => "vehicle_counter",
            DeviceKind::WasteBinFill => "waste_bin_fill",
            DeviceKind::TemperatureHumidity => "temperature_humidity",
            DeviceKind::EnergyMeter => "energy_meter",
            DeviceKind::MerchantConsumption => "merchant_consumption",
            DeviceKind::EmergencyButton => "emergency_button",
            DeviceKind::WaterMeter => "water_meter",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceKind> {
        DeviceKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Returns the attributes a device of this kind reports.
    pub fn attributes(self) -> &'static [Attribute] {
        match self {
            DeviceKind::ParkingSpaceSensor => &[Attribute::Status],
            DeviceKind::LotCounter => &[Attribute::AvailableSpotNumber],
            DeviceKind::PeopleCounter => &[Attribute::PeopleCount],
            DeviceKind::VehicleCounter => &[Attribute::VehicleCount],
            DeviceKind::WasteBinFill => &[Attribute::FillingLevel],
            DeviceKind::TemperatureHumidity => {
                &[Attribute::Temperature, Attribute::RelativeHumidity, Attribute::DewPoint]
            }
            DeviceKind::EnergyMeter => &[Attribute::ActiveEnergyImport],
            DeviceKind::MerchantConsumption => &[Attribute::ConsumptionIndex],
            DeviceKind::EmergencyButton => &[Attribute::ButtonPressed],
            DeviceKind::WaterMeter => &[Attribute::WaterConsumption],
        }
    }

    /// Reports whether the kind needs a capacity (the number of spaces a lot counter counts).
    pub fn needs_capacity(self) -> bool {
        self == DeviceKind::LotCounter
    }
}

/// One quantity a device reports.
///
/// Each attribute has a stable small-integer code: rows store the code, not the name,
/// because a reading row is written millions of times and the name would dominate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribute {
    Status,
    AvailableSpotNumber,
    PeopleCount,
    VehicleCount,
    FillingLevel,
    Temperature,
    RelativeHumidity,
    ActiveEnergyImport,
    ConsumptionIndex,
    ButtonPressed,
    WaterConsumption,
    DewPoint,
}

/// The kind of value an attribute takes and the range it must fall in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRule {
    /// A fraction from 0 to 1 inclusive.
    Fraction,
    /// A whole number of 0 or more.
    Count,
    /// A whole number from 0 to the device's capacity.
    FreeCount,
    /// Any finite number from `min` to `max`.
    Range { min: f64, max: f64 },
    /// true or false, stored as 1 or 0.
    Boolean,
    /// ParkingSpot status, stored as the index in [`PARKING_STATUSES`].
    ParkingStatus,
}

/// ParkingSpot `status` values in the order of their stored codes 0 to 3.
pub const PARKING_STATUSES: [&str; 4] = ["free", "occupied", "closed", "unknown"];

impl Attribute {
    pub const ALL: [Attribute; 12] = [
        Attribute::Status,
        Attribute::AvailableSpotNumber,
        Attribute::PeopleCount,
        Attribute::VehicleCount,
        Attribute::FillingLevel,
        Attribute::Temperature,
        Attribute::RelativeHumidity,
        Attribute::ActiveEnergyImport,
        Attribute::ConsumptionIndex,
        Attribute::ButtonPressed,
        Attribute::WaterConsumption,
        Attribute::DewPoint,
    ];

    /// Returns the Smart Data Models attribute name.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::Status => "status",
            Attribute::AvailableSpotNumber => "availableSpotNumber",
            Attribute::PeopleCount => "peopleCount",
            Attribute::VehicleCount => "vehicleCount",
            Attribute::FillingLevel => "fillingLevel",
            Attribute::Temperature => "temperature",
            Attribute::RelativeHumidity => "relativeHumidity",
            Attribute::ActiveEnergyImport => "activeEnergyImport",
            Attribute::ConsumptionIndex => "consumptionIndex",
            Attribute::ButtonPressed => "buttonPressed",
            Attribute::WaterConsumption => "waterConsumption",
            Attribute::DewPoint => "dewPoint",
        }
    }

    pub fn parse(name: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|attribute| attribute.name() == name)
    }

    /// Returns the stored code. Never renumber it, because stored rows keep it.
    pub fn code(self) -> i16 {
        match self {
            Attribute::Status => 1,
            Attribute::AvailableSpotNumber => 2,
            Attribute::PeopleCount => 3,
            Attribute::VehicleCount => 4,
            Attribute::FillingLevel => 5,
            Attribute::Temperature => 6,
            Attribute::RelativeHumidity => 7,
            Attribute::ActiveEnergyImport => 8,
            Attribute::ConsumptionIndex => 9,
            Attribute::ButtonPressed => 10,
            Attribute::WaterConsumption => 11,
            Attribute::DewPoint => 12,
        }
    }

    pub fn from_code(code: i16) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|attribute| attribute.code() == code)
    }

    /// UN/CEFACT unit code: C62 is "one" (a dimensionless number or fraction), CEL degree
    /// Celsius, KWH kilowatt-hour, MTQ cubic metre.
    pub fn unit_code(self) -> &'static str {
        match self {
            Attribute::Temperature | Attribute::DewPoint => "CEL",
            Attribute::ActiveEnergyImport => "KWH",
            Attribute::WaterConsumption => "MTQ",
            _ => "C62",
        }
    }

    pub fn rule(self) -> ValueRule {
        match self {
            Attribute::Status => ValueRule::ParkingStatus,
            Attribute::AvailableSpotNumber => ValueRule::FreeCount,
            Attribute::PeopleCount | Attribute::VehicleCount => ValueRule::Count,
            Attribute::FillingLevel | Attribute::RelativeHumidity => ValueRule::Fraction,
            // The coldest and hottest air temperatures ever measured on Earth lie inside.
            Attribute::Temperature | Attribute::DewPoint => {
                ValueRule::Range { min: -90.0, max: 60.0 }
            }
            Attribute::ActiveEnergyImport
            | Attribute::ConsumptionIndex
            | Attribute::WaterConsumption => ValueRule::Range { min: 0.0, max: f64::MAX },
            Attribute::ButtonPressed => ValueRule::Boolean,
        }
    }
}

/// A reading value as sent, before the attribute's rule is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Number(f64),
    Text(String),
    Boolean(bool),
}

/// A reason a value does not fit its attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// A number where text or a boolean is expected, or the other way round.
    WrongType { expected: &'static str },
    /// NaN or an infinity.
    NotFinite,
    /// Outside the attribute's range.
    OutOfRange { min: String, max: String },
    /// A count or free count that is not a whole number.
    NotWhole,
    /// A unit code other than the attribute's.
    WrongUnit { expected: &'static str },
}

/// Applies `attribute`'s rule to `value` and returns the number to store.
///
/// `capacity` is the device's number of spaces; a free count needs it.
///
/// # Errors
/// Returns the first rule the value breaks.
pub fn check_value(
    attribute: Attribute,
    value: &RawValue,
    unit: Option<&str>,
    capacity: Option<i64>,
) -> Result<f64, ValueError> {
    if let Some(unit) = unit
        && unit != attribute.unit_code()
    {
        return Err(ValueError::WrongUnit { expected: attribute.unit_code() });
    }
    match attribute.rule() {
        ValueRule::ParkingStatus => match value {
            RawValue::Text(text) => PARKING_STATUSES
                .iter()
                .position(|status| status == text)
                .map(|index| index as f64)
                .ok_or(ValueError::WrongType { expected: "free, occupied, closed or unknown" }),
            _ => Err(ValueError::WrongType { expected: "free, occupied, closed or unknown" }),
        },
        ValueRule::Boolean => match value {
            RawValue::Boolean(pressed) => Ok(f64::from(u8::from(*pressed))),
            _ => Err(ValueError::WrongType { expected: "true or false" }),
        },
        rule => {
            let number = number_of(value)?;
            check_number(rule, number, capacity)
        }
    }
}

/// Reads a number, treating the texts NaN and Infinity as the non-finite numbers they name,
/// because JSON cannot carry those numbers and senders spell them as strings.
fn number_of(value: &RawValue) -> Result<f64, ValueError> {
    match value {
        RawValue::Number(number) => Ok(*number),
        RawValue::Text(text) => match text.parse::<f64>() {
            Ok(number) if !number.is_finite() => Err(ValueError::NotFinite),
            _ => Err(ValueError::WrongType { expected: "a number" }),
        },
        RawValue::Boolean(_) => Err(ValueError::WrongType { expected: "a number" }),
    }
}

fn check_number(rule: ValueRule, number: f64, capacity: Option<i64>) -> Result<f64, ValueError> {
    if !number.is_finite() {
        return Err(ValueError::NotFinite);
    }
    let (min, max, whole) = match rule {
        ValueRule::Fraction => (0.0, 1.0, false),
        ValueRule::Count => (0.0, f64::MAX, true),
        ValueRule::FreeCount => (0.0, capacity.unwrap_or(0) as f64, true),
        ValueRule::Range { min, max } => (min, max, false),
        ValueRule::Boolean | ValueRule::ParkingStatus => (f64::MIN, f64::MAX, false),
    };
    if whole && number.fract() != 0.0 {
        return Err(ValueError::NotWhole);
    }
    if number < min || number > max {
        let show =
            |bound: f64| if bound == f64::MAX { "∞".to_owned() } else { bound.to_string() };
        return Err(ValueError::OutOfRange { min: show(min), max: show(max) });
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_codes_are_unique_and_round_trip() {
        for attribute in Attribute::ALL {
            assert_eq!(Attribute::from_code(attribute.code()), Some(attribute), "{attribute:?}");
            assert_eq!(Attribute::parse(attribute.name()), Some(attribute), "{attribute:?}");
        }
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn check_value_applies_each_rule() {
        use Attribute::*;
        use RawValue::*;
        type Case<'a> = (&'a str, Attribute, RawValue, Option<&'a str>, Result<f64, ValueError>);
        let cases: &[Case] = &[
            ("fraction inside", FillingLevel, Number(0.42), None, Ok(0.42)),
            ("fraction bounds", FillingLevel, Number(1.0), None, Ok(1.0)),
            (
                "fraction above 1",
                FillingLevel,
                Number(1.2),
                None,
                Err(ValueError::OutOfRange { min: "0".into(), max: "1".into() }),
            ),
            ("NaN text", Temperature, Text("NaN".into()), None, Err(ValueError::NotFinite)),
            ("infinity text", Temperature, Text("-inf".into()), None, Err(ValueError::NotFinite)),
            (
                "infinite number",
                Temperature,
                Number(f64::INFINITY),
                None,
                Err(ValueError::NotFinite),
            ),
            (
                "text for number",
                Temperature,
                Text("warm".into()),
                None,
                Err(ValueError::WrongType { expected: "a number" }),
            ),
            ("right unit", Temperature, Number(21.5), Some("CEL"), Ok(21.5)),
            (
                "wrong unit",
                Temperature,
                Number(70.0),
                Some("FAH"),
                Err(ValueError::WrongUnit { expected: "CEL" }),
            ),
            ("status", Status, Text("closed".into()), None, Ok(2.0)),
            (
                "status not in list",
                Status,
                Text("full".into()),
                None,
                Err(ValueError::WrongType { expected: "free, occupied, closed or unknown" }),
            ),
            ("button", ButtonPressed, Boolean(true), None, Ok(1.0)),
            ("count fraction", PeopleCount, Number(2.5), None, Err(ValueError::NotWhole)),
            (
                "negative count",
                VehicleCount,
                Number(-1.0),
                None,
                Err(ValueError::OutOfRange { min: "0".into(), max: "∞".into() }),
            ),
        ];
        for (description, attribute, value, unit, expected) in cases {
            let actual = check_value(*attribute, value, *unit, None);
            assert_eq!(&actual, expected, "{description}");
        }
    }

    #[test]
    fn free_count_is_bounded_by_capacity() {
        let free = |n: f64| {
            check_value(Attribute::AvailableSpotNumber, &RawValue::Number(n), None, Some(40))
        };
        assert_eq!(free(40.0), Ok(40.0));
        assert_eq!(free(0.0), Ok(0.0));
        assert!(matches!(free(41.0), Err(ValueError::OutOfRange { .. })));
        assert!(matches!(free(-1.0), Err(ValueError::OutOfRange { .. })));
    }
}
