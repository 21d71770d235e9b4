// Long names such as vllm:nixl_num_notifications_after_expiry may wrap after
// an underscore or a "::", never in the middle of a word and never off the
// edge: in headings (the sidebar copies them, and clipped them) and in
// inline code. Done here rather than in the Markdown, so that the search
// index and copied text keep each name whole (<wbr> is not copied).
(function () {
    'use strict';
    // After "_" or "::" that follows a letter or digit, before another.
    const BREAK = /(?<=[\p{L}\p{N}](?:_|::))(?=[\p{L}\p{N}])/u;

    function allowBreaks(element) {
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        const texts = [];
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (BREAK.test(node.data)) {
                texts.push(node);
            }
        }
        for (const text of texts) {
            const parts = text.data.split(BREAK);
            const pieces = document.createDocumentFragment();
            parts.forEach(function (part, i) {
                if (i > 0) {
                    pieces.append(document.createElement('wbr'));
                }
                pieces.append(part);
            });
            text.replaceWith(pieces);
        }
    }

    // Runs before mdBook builds the sidebar's list of this page's headings
    // (on DOMContentLoaded, from copies of them).
    document
        .querySelectorAll('main :is(h1, h2, h3, h4, h5, h6), main :not(pre) > code')
        .forEach(allowBreaks);
})();

// Tables in a <div class="nixl-cards"> become labelled cards on a phone
// (book/theme/nixl.css): each cell gets its column's name to show.
(function () {
    'use strict';
    document.querySelectorAll('.nixl-cards table').forEach(function (table) {
        const names = Array.from(table.querySelectorAll('thead th'), function (th) {
            return th.textContent.trim();
        });
        table.querySelectorAll('tbody tr').forEach(function (row) {
            Array.from(row.cells).forEach(function (cell, i) {
                if (names[i]) {
                    cell.dataset.label = names[i];
                }
            });
        });
    });
})();
