/**
 * HTML sanitizer for fields that accept rich text (comments, descriptions):
 * an allowlist of formatting tags, links limited to absolute http(s) and
 * mailto URLs with `rel="noopener noreferrer nofollow"`, and nothing else: no attributes but
 * `href`, no styles, no scripts, no SVG/MathML, no embedded content.
 * Everything outside the allowlist is dropped (its text kept, except for
 * elements whose content is code or markup, which is dropped whole); text is
 * re-serialized with `<`, `>`, `&` and quotes escaped, so the output parses
 * to the same tree in a browser.
 *
 * Store the sanitized value (or sanitize on output) and still serve it with
 * a restrictive CSP: sanitizing is one layer of the OWASP XSS prevention
 * rules, not a replacement for output encoding elsewhere.
 *
 * sanitize-html is pinned to 2.17.5, the last release that supports Node 20;
 * the advisories fixed after it concern `textarea`/`xmp` and SVG animation
 * attributes, none of which this allowlist admits (tests pin that).
 */
import sanitizeHtml from "sanitize-html";

export const RICH_TEXT_TAGS = Object.freeze(["b", "i", "em", "strong", "a", "p", "br", "ul", "ol", "li", "code", "pre", "blockquote"] as const);

export const RICH_TEXT_LINK_SCHEMES = Object.freeze(["http", "https", "mailto"] as const);

/** The `rel` every link gets: no window.opener, no Referer, no SEO credit for user-supplied links. */
export const RICH_TEXT_LINK_REL = "noopener noreferrer nofollow";

/** Elements whose content is dropped with them (not kept as text): code, markup or foreign content. */
const DROP_WITH_CONTENT = ["script", "style", "textarea", "xmp", "option", "noscript", "noembed", "noframes", "iframe", "template", "title", "svg", "math", "object", "plaintext"];

const LINK_PROTOCOLS = new Set(RICH_TEXT_LINK_SCHEMES.map((s) => `${s}:`));

/**
 * A link target written out in full with an allowed scheme, normalized by the
 * URL parser; undefined for anything else (relative and protocol-relative
 * URLs too: user content should not link into the application itself). The
 * value is already entity-decoded by the parser, so `jav&#x61;script:` is
 * seen as what a browser would run. sanitize-html's own scheme check runs on
 * the result as a second line.
 */
function absoluteHref(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (!/^(?:https?:\/\/|mailto:)/i.test(v)) return undefined;
  try {
    const u = new URL(v);
    return LINK_PROTOCOLS.has(u.protocol) ? u.href : undefined;
  } catch {
    return undefined;
  }
}

const OPTIONS: sanitizeHtml.IOptions = Object.freeze({
  allowedTags: [...RICH_TEXT_TAGS],
  allowedAttributes: { a: ["href", "rel"] },
  allowedClasses: {},
  allowedStyles: {},
  parseStyleAttributes: false,
  allowedSchemes: [...RICH_TEXT_LINK_SCHEMES],
  allowedSchemesByTag: {},
  allowedSchemesAppliedToAttributes: ["href"],
  // `//host/path` inherits the page's scheme; require the scheme to be written out.
  allowProtocolRelative: false,
  allowVulnerableTags: false,
  disallowedTagsMode: "discard",
  nonTextTags: DROP_WITH_CONTENT,
  // Deeply nested markup costs parse time and can crash naive renderers; deeper tags are dropped (text kept).
  nestingLimit: 32,
  enforceHtmlBoundary: false,
  selfClosing: ["br"],
  transformTags: {
    // The rel is ours, whatever the input said (a user-supplied `rel` is replaced).
    a: (_tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Tag => {
      const out: sanitizeHtml.Attributes = { rel: RICH_TEXT_LINK_REL };
      const href = absoluteHref(attribs.href);
      if (href !== undefined) out.href = href;
      return { tagName: "a", attribs: out };
    },
  },
});

/** Returns `html` reduced to the rich-text allowlist; safe to insert into an HTML body context. */
export function sanitizeRichText(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}
