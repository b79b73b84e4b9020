// The page's entry module: takes the token from the address, then shows the app.
import { html, render } from "htm/preact";
import { adoptToken } from "./api.js";
import { App } from "./app.js";

adoptToken();
const root = document.getElementById("app");
if (root) render(html`<${App} />`, root);
