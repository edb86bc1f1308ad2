/*
 * A Slack message's Block Kit blocks as an HTML page that looks like Slack's desktop client, for
 * the README's screenshot of a check-in card (taken by `npm run screenshots` in headless
 * Chromium). It draws the blocks Roster's cards use: header, section (text, fields, accessory
 * button), context, image, actions and divider. Slack's own rendering is not available offline;
 * this follows its look, not its every rule.
 */

type Text = { type?: string; text?: string };
type Element = { type?: string; text?: Text | string; style?: string; image_url?: string; alt_text?: string };
type Block = {
  type?: string;
  text?: Text;
  fields?: Text[];
  accessory?: Element;
  elements?: Element[];
  image_url?: string;
  alt_text?: string;
  title?: Text;
};

const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Slack's escaping undone, then HTML's applied. */
const plain = (s: string) => html(s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));

/** mrkdwn's *bold*, _italic_, ~strike~ and `code`, and line breaks. */
function mrkdwn(s: string): string {
  return plain(s)
    .replace(/`([^`\n]+)`/g, '<code>$1</code>')
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1<b>$2</b>')
    .replace(/(^|[\s(])_([^_\n]+)_/g, '$1<i>$2</i>')
    .replace(/(^|[\s(])~([^~\n]+)~/g, '$1<s>$2</s>')
    .replace(/\n/g, '<br>');
}

const textOf = (t: Text | string | undefined) =>
  typeof t === 'string' ? plain(t) : t?.type === 'mrkdwn' ? mrkdwn(t.text ?? '') : plain(t?.text ?? '');

function button(e: Element): string {
  return `<span class="button ${e.style ?? ''}">${textOf(e.text)}</span>`;
}

function block(b: Block, imageUrl: (url: string) => string): string {
  switch (b.type) {
    case 'header':
      return `<div class="header">${textOf(b.text)}</div>`;
    case 'section': {
      const fields = b.fields?.length ? `<div class="fields">${b.fields.map((f) => `<div>${textOf(f)}</div>`).join('')}</div>` : '';
      const accessory = b.accessory?.type === 'button' ? `<div class="accessory">${button(b.accessory)}</div>` : '';
      return `<div class="section"><div class="body">${b.text ? `<div>${textOf(b.text)}</div>` : ''}${fields}</div>${accessory}</div>`;
    }
    case 'context':
      return `<div class="context">${(b.elements ?? [])
        .map((e) =>
          e.type === 'image'
            ? `<img src="${html(imageUrl(e.image_url ?? ''))}" alt="${html(e.alt_text ?? '')}">`
            : `<span>${textOf(e as Text)}</span>`,
        )
        .join(' ')}</div>`;
    case 'image':
      return `<figure class="image">${b.title ? `<figcaption>${textOf(b.title)} <span class="caret">▾</span></figcaption>` : ''}<img src="${html(imageUrl(b.image_url ?? ''))}" alt="${html(b.alt_text ?? '')}"></figure>`;
    case 'actions':
      return `<div class="actions">${(b.elements ?? [])
        .filter((e) => e.type === 'button')
        .map(button)
        .join('')}</div>`;
    case 'divider':
      return '<hr>';
    default:
      return '';
  }
}

/**
 * The page: one message from Roster (the app) holding `blocks`. `imageUrl` maps an image's link
 * to where the browser fetches it (Slack fetches the public URL; a screenshot, the local Roster).
 */
export function slackMessagePage(blocks: unknown, options: { imageUrl?: (url: string) => string; time?: string } = {}): string {
  const map = options.imageUrl ?? ((url: string) => url);
  const body = (Array.isArray(blocks) ? (blocks as Block[]) : []).map((b) => block(b, map)).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Roster in Slack</title>
<style>
  body { margin: 0; background: #fff; font: 15px/1.46668 "Lato", "Helvetica Neue", Helvetica, Arial, sans-serif; color: #1d1c1d; }
  .channel { border-bottom: 1px solid #ddd; padding: 12px 20px; font-weight: 900; font-size: 18px; }
  .message { display: flex; gap: 8px; padding: 12px 20px; max-width: 760px; }
  .avatar { width: 36px; height: 36px; border-radius: 6px; background: #1f3a5f; color: #fff; font-weight: 900; display: flex; align-items: center; justify-content: center; flex: none; }
  .who { font-weight: 900; } .app { font-size: 10px; background: #e8e8e8; color: #616061; padding: 1px 3px; border-radius: 2px; margin: 0 4px; font-weight: 700; vertical-align: 2px; }
  .time { color: #616061; font-size: 12px; }
  .blocks > * { margin: 6px 0; }
  .header { font-size: 18px; font-weight: 900; line-height: 1.33; }
  .section { display: flex; gap: 12px; } .section .body { flex: 1; } .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 8px; }
  .context { color: #616061; font-size: 13px; } .context img { height: 20px; vertical-align: middle; }
  .image figcaption { color: #616061; font-size: 13px; margin-bottom: 4px; } .image { margin: 8px 0; }
  .image img { display: block; width: 520px; border-radius: 4px; border: 1px solid #e2e2e2; }
  .actions { display: flex; flex-wrap: wrap; gap: 8px; }
  .button { display: inline-block; border: 1px solid #c7c7c7; border-radius: 4px; padding: 3px 12px; font-weight: 700; font-size: 14px; line-height: 26px; background: #fff; }
  .button.primary { background: #007a5a; border-color: #007a5a; color: #fff; } .button.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
  code { font-family: Monaco, Menlo, Consolas, monospace; font-size: 12px; color: #e01e5a; background: #f6f6f6; border: 1px solid #e8e8e8; border-radius: 3px; padding: 1px 3px; }
  hr { border: 0; border-top: 1px solid #ddd; }
</style></head>
<body><div class="channel">Roster</div>
<div class="message"><div class="avatar">R</div><div><div><span class="who">Roster</span><span class="app">APP</span><span class="time">${html(options.time ?? '9:41 AM')}</span></div>
<div class="blocks">${body}</div></div></div></body></html>`;
}
