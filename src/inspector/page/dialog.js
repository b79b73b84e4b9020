// The in-page question before a destructive action: a modal <dialog>, Cancel focused first, and a
// confirming button that repeats the action's own label.
import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
/** @import { ComponentChildren } from "preact" */

/**
 * @param {{ heading: string, confirmLabel: string, onConfirm: () => void, onCancel: () => void, children: ComponentChildren }} props
 */
export function ConfirmDialog({ heading, confirmLabel, onConfirm, onCancel, children }) {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  useEffect(() => {
    const dialog = ref.current;
    dialog?.showModal();
    return () => {
      if (dialog?.open) dialog.close();
    };
  }, []);
  // Escape closes the dialog (Chromium may do so without a cancel event): closed is cancelled.
  return html`<dialog ref=${ref} class="confirm" aria-labelledby="confirm-heading" onClose=${onCancel}>
    <h2 id="confirm-heading">${heading}</h2>
    ${children}
    <div class="buttons">
      <button type="button" autofocus onClick=${onCancel}>Cancel</button>
      <button type="button" class="danger" onClick=${onConfirm}>${confirmLabel}</button>
    </div>
  </dialog>`;
}
