// A message's content, shown as data: text stays text (Preact makes it text nodes, never markup), an
// image is shown only as PNG, JPEG, GIF or WebP, links open only for http(s), the rest is summarised.
import { html } from "htm/preact";
/** @import { Message } from "../../client/types.js" */

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** @param {{ content: Message["content"] }} props */
export function MessageContent({ content }) {
  if (typeof content === "string") return html`<p class="text">${content}</p>`;
  return html`${content.map((block) => html`<${Block} block=${block} />`)}`;
}

/** @param {{ block: any }} props */
function Block({ block }) {
  switch (block.type) {
    case "text":
      return html`<p class="text">${String(block.text)}</p>`;
    case "image":
      return html`<${Image} mimeType=${String(block.mimeType)} data=${String(block.data)} />`;
    case "audio":
      return html`<p class="block-summary">Audio (${String(block.mimeType)}), not played here.</p>`;
    case "resource_link":
      return html`<p class="block-summary">
        Link: ${String(block.name)} — <${Uri} uri=${String(block.uri)} />${block.mimeType ? ` (${String(block.mimeType)})` : ""}
      </p>`;
    case "resource":
      return html`<${Resource} resource=${block.resource} />`;
    default:
      return html`<p class="block-summary">A ${String(block.type)} block, not shown.</p>`;
  }
}

/** @param {{ mimeType: string, data: string }} props */
function Image({ mimeType, data }) {
  if (!IMAGE_TYPES.includes(mimeType)) return html`<p class="block-summary">An image of type ${mimeType}, not shown.</p>`;
  if (!BASE64.test(data)) return html`<p class="block-summary">An image whose data is not base64, not shown.</p>`;
  return html`<img class="image" src=${`data:${mimeType};base64,${data}`} alt=${`Image (${mimeType})`} />`;
}

/** @param {{ resource: { uri?: unknown, mimeType?: unknown, text?: unknown, blob?: unknown } }} props */
function Resource({ resource }) {
  const size =
    typeof resource.text === "string"
      ? `${resource.text.length} characters of text`
      : typeof resource.blob === "string"
        ? `${Math.floor((resource.blob.length * 3) / 4)} bytes of data`
        : "no content";
  return html`<div class="block-summary">
    <p>Resource: <${Uri} uri=${String(resource.uri)} /> (${resource.mimeType ? `${String(resource.mimeType)}, ` : ""}${size})</p>
    ${
      typeof resource.text === "string" &&
      html`<details>
        <summary>Show its text</summary>
        <pre class="resource-text">${resource.text}</pre>
      </details>`
    }
  </div>`;
}

/**
 * A link only for http(s), opened without telling the target where it came from; any other URI
 * (`javascript:`, `file:`, `data:`) is shown as text.
 * @param {{ uri: string }} props
 */
export function Uri({ uri }) {
  const href = webUrl(uri);
  if (href === undefined) return html`<code class="uri">${uri}</code>`;
  return html`<a class="uri" href=${href} target="_blank" rel="noopener noreferrer">${uri}</a>`;
}

/**
 * The URL as the browser would parse it, when it is http(s).
 * @param {string} text
 */
function webUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}
