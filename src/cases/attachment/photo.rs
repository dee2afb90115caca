//! Cleaning an uploaded photo: type check by magic bytes, EXIF GPS and orientation
//! read, pixels rotated upright and re-encoded without any metadata.
//!
//! Re-encoding is what strips EXIF: the `image` encoders write pixels only, so the
//! stored file cannot carry the camera's position, serial number or timestamps.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder};

/// Largest width or height accepted, in pixels. It admits photos up to about 140
/// megapixels and bounds the memory a decoded photo can take.
const MAX_SIDE_PIXELS: u32 = 12_000;
/// Largest allocation while decoding, in bytes: 12,000² RGBA pixels plus headroom.
const MAX_DECODE_BYTES: u64 = 640 * 1024 * 1024;
/// JPEG quality of the re-encoded file, from 1 to 100.
const JPEG_QUALITY: u8 = 88;

/// The photo types accepted, recognised by their first bytes, never by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
    WebP,
}

impl PhotoFormat {
    /// Recognises JPEG (`FF D8 FF`), PNG (`89 50 4E 47 0D 0A 1A 0A`) and WebP (`RIFF`,
    /// four size bytes, `WEBP`).
    pub fn sniff(bytes: &[u8]) -> Option<PhotoFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(PhotoFormat::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(PhotoFormat::WebP)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::WebP => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::WebP => ImageFormat::WebP,
        }
    }
}

/// A photo ready to store: upright pixels re-encoded without metadata.
#[derive(Debug, Clone)]
pub struct CleanPhoto {
    pub format: PhotoFormat,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// WGS-84 (longitude, latitude) from the upload's EXIF GPS tags, if present.
    pub gps_hint: Option<(f64, f64)>,
}

/// Reason a photo was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoError {
    #[error("not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("image cannot be decoded: {0}")]
    Undecodable(String),
}

/// Checks, rotates and re-encodes an uploaded photo. CPU-bound, so async callers run it
/// on a blocking thread.
///
/// # Errors
/// [`PhotoError::NotAnImage`] unless the magic bytes are JPEG, PNG or WebP, and
/// [`PhotoError::Undecodable`] for a damaged file or one over 12,000 pixels a side.
pub fn clean_photo(bytes: &[u8]) -> Result<CleanPhoto, PhotoError> {
    let format = PhotoFormat::sniff(bytes).ok_or(PhotoError::NotAnImage)?;
    let exif = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)).ok();
    let orientation = exif.as_ref().and_then(orientation_of);
    let gps_hint = exif.as_ref().and_then(gps_of);

    let mut image = decode(bytes, format)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    let encoded = encode(&image, format)?;
    Ok(CleanPhoto {
        format,
        bytes: encoded,
        width: image.width(),
        height: image.height(),
        gps_hint,
    })
}

fn decode(bytes: &[u8], format: PhotoFormat) -> Result<DynamicImage, PhotoError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PIXELS);
    limits.max_image_height = Some(MAX_SIDE_PIXELS);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits);
    reader.decode().map_err(|error| PhotoError::Undecodable(error.to_string()))
}

fn encode(image: &DynamicImage, format: PhotoFormat) -> Result<Vec<u8>, PhotoError> {
    let failed = |error: image::ImageError| PhotoError::Undecodable(error.to_string());
    let mut out = Vec::new();
    match format {
        PhotoFormat::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            image.to_rgb8().write_with_encoder(encoder).map_err(failed)?;
        }
        // The WebP encoder of `image` 0.25 is lossless, so WebP uploads grow somewhat.
        PhotoFormat::Png | PhotoFormat::WebP => {
            image.write_to(&mut Cursor::new(&mut out), format.image_format()).map_err(failed)?;
        }
    }
    Ok(out)
}

fn orientation_of(exif: &exif::Exif) -> Option<image::metadata::Orientation> {
    let field = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let value = u8::try_from(field.value.get_uint(0)?).ok()?;
    image::metadata::Orientation::from_exif(value)
}

/// Reads the EXIF GPS position as (longitude, latitude). The datum is assumed to be
/// WGS-84, the GPS default, and the `GPSMapDatum` tag is not read.
fn gps_of(exif: &exif::Exif) -> Option<(f64, f64)> {
    let latitude = degrees(exif, exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b'S')?;
    let longitude = degrees(exif, exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, b'W')?;
    let in_range = (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude);
    in_range.then_some((longitude, latitude))
}

/// Converts a degrees, minutes, seconds triple to signed decimal degrees. `negative`
/// is the reference letter (S or W) that flips the sign.
fn degrees(exif: &exif::Exif, tag: exif::Tag, reference: exif::Tag, negative: u8) -> Option<f64> {
    let field = exif.get_field(tag, exif::In::PRIMARY)?;
    let exif::Value::Rational(parts) = &field.value else {
        return None;
    };
    let [d, m, s] = parts.as_slice() else {
        return None;
    };
    let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
    let flipped = match &exif.get_field(reference, exif::In::PRIMARY)?.value {
        exif::Value::Ascii(texts) => texts.first().is_some_and(|t| t.first() == Some(&negative)),
        _ => false,
    };
    value.is_finite().then_some(if flipped { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_magic_bytes_not_names() {
        assert_eq!(PhotoFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(PhotoFormat::Jpeg));
        assert_eq!(PhotoFormat::sniff(b"\x89PNG\r\n\x1a\n...."), Some(PhotoFormat::Png));
        assert_eq!(PhotoFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(PhotoFormat::WebP));
        assert_eq!(PhotoFormat::sniff(b"GIF89a"), None);
        assert_eq!(PhotoFormat::sniff(b"<svg"), None);
    }

    #[test]
    fn clean_photo_rejects_text() {
        assert_eq!(clean_photo(b"hello").unwrap_err(), PhotoError::NotAnImage);
    }

    #[test]
    fn clean_photo_rejects_truncated_jpeg() {
        let error = clean_photo(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).unwrap_err();
        assert!(matches!(error, PhotoError::Undecodable(_)), "{error:?}");
    }
}
