/** TypeBox schemas of the files API. */
import { Type } from "@sinclair/typebox";
import { FILE_TYPES } from "./types.js";

export const FileSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String({ description: "The sanitized client filename (display only)" }),
    contentType: Type.String({ description: "The type sniffed from the content" }),
    size: Type.Integer({ minimum: 0 }),
    createdAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

export const FileIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }) }, { additionalProperties: false });

export const ListQuery = Type.Object(
  { cursor: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) },
  { additionalProperties: false },
);

/** The multipart body of an upload (documentation: the handler reads it as a stream). */
export function uploadBody(maxBytes: number) {
  return {
    content: {
      "multipart/form-data": {
        schema: Type.Object({ file: Type.String({ format: "binary", maxLength: maxBytes, description: "The file (one part, with a filename whose extension matches the content)" }) }, { additionalProperties: false }),
      },
    },
  };
}

/** The download: raw bytes with the sniffed type. */
export const DownloadResponse = {
  description: "The decrypted file, as an attachment with its sniffed content type",
  content: Object.fromEntries(FILE_TYPES.map((t) => [t.contentType, { schema: Type.String({ format: "binary" }) }])),
};
