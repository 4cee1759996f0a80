// The plain page of the slow-link comparison: the landing page's first critical read
// (config.json, then /api/pages) through the cockatiel breaker of peer.js, rendered as a list.
import { breakerRead } from "./peer.js";

const config = await (await fetch("config.json")).json();
const read = breakerRead(config, "/api/pages");
const ul = document.getElementById("pages");
try {
  const body = await read();
  ul.replaceChildren(...body.pages.map((p) => {
    const li = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = p.title;
    li.append(title, ` ${p.body}`);
    return li;
  }));
} catch (e) {
  ul.textContent = `Could not load the handbook: ${e.message}`;
}
