/**
 * The QR code of an otpauth:// URL as a data URL the browser can show in an
 * <img> (SVG by default: text, no image library, scales without blur). Error
 * correction level M tolerates a smudged or partly glared screen.
 */
import QRCode from "qrcode";

export type QrFormat = "svg" | "png";

/** `data:image/svg+xml;base64,...` (default) or `data:image/png;base64,...` of the URL. */
export async function totpQrCode(otpauthUrl: string, format: QrFormat = "svg"): Promise<string> {
  if (format === "png") return QRCode.toDataURL(otpauthUrl, { errorCorrectionLevel: "M", margin: 2, width: 256 });
  const svg = await QRCode.toString(otpauthUrl, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg, "utf8").toString("base64")}`;
}
