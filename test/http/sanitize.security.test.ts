/**
 * Threat: stored XSS through a rich-text field — script elements, event
 * handler attributes, javascript:/data:/vbscript: links (plain, mixed-case,
 * entity-encoded, with control characters), SVG and MathML content, style
 * injection, raw-text elements that re-parse differently (textarea, xmp,
 * noscript: the advisories fixed after the pinned sanitize-html), and
 * reverse-tabnabbing through target=_blank links. The expected outputs below
 * are written by hand from the allowlist, not captured from the code.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sanitizeRichText } from "../../src/http/sanitize.js";

const REL = 'rel="noopener noreferrer nofollow"';

describe("sanitizeRichText", () => {
  it("keeps the allowlisted formatting", () => {
    const html = "<p>Hello <b>b</b> <i>i</i> <em>e</em> <strong>s</strong><br>next</p><ul><li>a</li></ul><ol><li>b</li></ol><pre><code>x &lt; y</code></pre><blockquote>q</blockquote>";
    expect(sanitizeRichText(html)).toBe(
      "<p>Hello <b>b</b> <i>i</i> <em>e</em> <strong>s</strong><br />next</p><ul><li>a</li></ul><ol><li>b</li></ol><pre><code>x &lt; y</code></pre><blockquote>q</blockquote>",
    );
  });

  it("keeps http, https and mailto links, with our rel and nothing else", () => {
    expect(sanitizeRichText('<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="opener" title="t" onclick="x()">x</a>')).toBe(
      `<a ${REL} href="https://example.com/a?b=1&amp;c=2">x</a>`,
    );
    expect(sanitizeRichText('<a href="http://example.com/">x</a>')).toBe(`<a ${REL} href="http://example.com/">x</a>`);
    expect(sanitizeRichText('<a href="mailto:someone@example.com">m</a>')).toBe(`<a ${REL} href="mailto:someone@example.com">m</a>`);
  });

  it.each([
    ["javascript:", '<a href="javascript:alert(1)">x</a>'],
    ["mixed case", '<a href="JaVaScRiPt:alert(1)">x</a>'],
    ["hex entity", '<a href="jav&#x61;script:alert(1)">x</a>'],
    ["named entity colon", '<a href="jav&#97;script&colon;alert(1)">x</a>'],
    ["all decimal entities", '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>'],
    ["tab inside the scheme", '<a href="java\tscript:alert(1)">x</a>'],
    ["newline inside the scheme", '<a href="java&#10;script:alert(1)">x</a>'],
    ["leading space", '<a href=" javascript:alert(1)">x</a>'],
    ["data: URL", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'],
    ["vbscript:", '<a href="vbscript:msgbox(1)">x</a>'],
    ["protocol-relative", '<a href="//evil.example/">x</a>'],
    ["relative", '<a href="/v1/auth/logout-all">x</a>'],
  ])("drops the href of a %s link", (_name, html) => {
    expect(sanitizeRichText(html)).toBe(`<a ${REL}>x</a>`);
  });

  it.each([
    ["script element", "<script>alert(1)</script>ok", "ok"],
    ["script with src", '<script src="https://evil.example/x.js"></script>ok', "ok"],
    ["img onerror", "<img src=x onerror=alert(1)>ok", "ok"],
    ["event handlers on allowed tags", '<b onclick="alert(1)" onmouseover=alert(1)>x</b>', "<b>x</b>"],
    ["svg onload with script", "<svg onload=alert(1)><script>alert(1)</script><text>t</text></svg>ok", "ok"],
    ["svg SMIL animation of href", '<svg><a xlink:href="#"><animate attributeName="href" values="javascript:alert(1)"/>click</a></svg>ok', "ok"],
    ["style element and style attribute", '<style>*{background:url(javascript:alert(1))}</style><p style="background:url(x)">s</p>', "<p>s</p>"],
    ["MathML namespace confusion", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ""],
    ["textarea raw text", "<textarea><img src=x onerror=alert(1)></textarea>ok", "ok"],
    ["xmp raw text", "<xmp><img src=x onerror=alert(1)></xmp>ok", "ok"],
    ["noscript re-parse", '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>ok', "ok"],
    ["iframe", '<iframe src="javascript:alert(1)">inner</iframe>ok', "ok"],
    ["comment", "<!--<img src=x onerror=alert(1)>-->ok", "ok"],
    ["object, embed, form", '<object data="x"></object><embed src="x"><form action="x"><input></form>ok', "ok"],
    ["base and meta refresh", '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=javascript:alert(1)">ok', "ok"],
    ["attribute breakout", '"><img src=x onerror=alert(1)>', '"&gt;'],
    ["nested script tags", "<scr<script>ipt>alert(1)</script>", "ipt&gt;alert(1)"],
    ["escaped markup stays text", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"],
    ["unclosed tags are closed", "<b>open <i>nest", "<b>open <i>nest</i></b>"],
  ])("neutralizes %s", (_name, html, expected) => {
    expect(sanitizeRichText(html)).toBe(expected);
  });

  it("drops a textarea opened with the self-closing trick and everything it may swallow", () => {
    // Browsers ignore the `/` of `<textarea/>`: its raw text runs to `</textarea/>`. Whatever
    // the parser takes as the textarea's content, none of it may come out as markup.
    const out = sanitizeRichText("<textarea/><img src=x onerror=alert(1)></textarea/>ok");
    expect(out).not.toMatch(/[<>]|onerror/);
    expect(["", "ok"]).toContain(out);
  });

  it("escapes text so it cannot become markup", () => {
    expect(sanitizeRichText("<p>café & \"q\" 'q' > <</p>")).toBe("<p>café &amp; \"q\" 'q' &gt; &lt;</p>");
  });

  it("only ever outputs allowlisted tags, safe attributes and escaped text, and is stable (property)", () => {
    const fragments = [
      "<", ">", "/", "\"", "'", "=", " ", "&", "#", ";", "&#x6a;", "&colon;", "\t", "\n", "\u0000",
      "script", "img", "svg", "math", "style", "textarea", "xmp", "noscript", "iframe", "a", "b", "p", "li", "template",
      "href", "src", "onerror", "onload", "style", "rel", "target", "xlink:href", "srcdoc",
      "javascript:", "JAVASCRIPT:", "data:", "vbscript:", "https://x.example/", "mailto:a@b.example", "//x.example", "alert(1)",
      "<!--", "-->", "<![CDATA[", "]]>",
    ];
    const allowed = /^<\/?(b|i|em|strong|a|p|br|ul|ol|li|code|pre|blockquote)( [^>]*)?( \/)?>$/;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 60 }), (parts) => {
        const out = sanitizeRichText(parts.join(""));
        const tags = out.match(/<[^>]*>/g) ?? [];
        // Every `<` in the output opens one of the tags found: text never carries a raw `<`.
        expect((out.match(/</g) ?? []).length).toBe(tags.length);
        for (const tag of tags) {
          const m = allowed.exec(tag);
          expect(m, tag).not.toBeNull();
          const attrs = (m![2] ?? "").trim();
          if (attrs === "") continue;
          expect(m![1], tag).toBe("a");
          expect(attrs, tag).toMatch(/^rel="noopener noreferrer nofollow"( href="(https?:\/\/|mailto:)[^"<>]*")?$/);
        }
        expect(sanitizeRichText(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });
});
