/// The console's assets, compiled into the binary: no build step, no files to install.
public enum ConsoleAssets {
    /// Small, readable at phone width (one column under 700 px; wide tables scroll inside their box).
    public static let stylesheet = """
        :root{--fg:#1d232b;--muted:#5f6b7a;--line:#d8dde3;--bg:#f6f7f9;--card:#fff;--accent:#2456a6;--ok:#1b7a3a;--bad:#b3261e}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#17324f;color:#fff}
        header a{color:#fff;text-decoration:none}
        .brand{font-weight:700;margin-right:.5rem}
        header nav a{margin-right:.9rem;opacity:.9}
        header form{display:flex;flex:1 1 16rem;gap:.4rem;min-width:0}
        header input{flex:1;min-width:0;padding:.35rem .5rem;border:0;border-radius:4px;font:inherit}
        header button,form.filters button{padding:.35rem .7rem;border:0;border-radius:4px;background:#4b7bd1;color:#fff;font:inherit}
        main{max-width:72rem;margin:0 auto;padding:1rem}
        h1{font-size:1.45rem;margin:.4rem 0 1rem;overflow-wrap:anywhere}
        h2{font-size:1.1rem;margin:0 0 .6rem}
        section{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.9rem 1rem;margin:0 0 1rem}
        a{color:var(--accent)}
        .muted{color:var(--muted)}
        .ok{color:var(--ok)}
        .bad{color:var(--bad)}
        code,pre,.amt,.num,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.86em}
        .amt{white-space:nowrap}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:.6rem;margin:0}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
        dl.facts dt{color:var(--muted)}
        dl.facts dd{margin:0;overflow-wrap:anywhere}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%}
        th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
        th{font-weight:600;color:var(--muted);white-space:nowrap}
        td.num,th.num{text-align:right}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem;margin-bottom:1rem}
        .grid section{margin:0}
        figure.chart{margin:0 0 .6rem}
        figcaption{font-weight:600;margin-bottom:.3rem}
        svg.chart{display:block;width:100%;height:10rem;background:var(--bg);border:1px solid var(--line)}
        .axis,.labels{display:flex;justify-content:space-between;gap:1rem;color:var(--muted);font-size:.8em;overflow-wrap:anywhere}
        .s0{fill:#2456a6;background:#2456a6}.s1{fill:#7aa5e8;background:#7aa5e8}.s2{fill:#1b7a3a;background:#1b7a3a}
        .s3{fill:#8fd19e;background:#8fd19e}.s4{fill:#b36b00;background:#b36b00}.s5{fill:#f0c36d;background:#f0c36d}
        ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.3rem 1rem;padding:0;margin:.4rem 0 0;font-size:.85em}
        ul.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-.1rem}
        nav.pager{display:flex;flex-wrap:wrap;gap:.3rem .8rem;margin:.5rem 0;font-size:.9em}
        nav.links{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.2rem 0 .8rem}
        form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-bottom:.8rem}
        form.filters label{display:flex;flex-direction:column;font-size:.85em;color:var(--muted)}
        form.filters input,form.filters select{font:inherit;padding:.25rem .4rem}
        footer{max-width:72rem;margin:0 auto;padding:0 1rem 2rem;color:var(--muted);font-size:.85em}
        @media (max-width:700px){main{padding:.6rem}dl.facts{grid-template-columns:1fr}dl.facts dt{margin-top:.3rem}
        th,td{padding:.25rem .35rem}section{padding:.7rem}td .amt{white-space:normal;overflow-wrap:anywhere}
        table.stack thead{display:none}table.stack tr{display:block;border-bottom:1px solid var(--line);padding:.2rem 0}
        table.stack td{display:flex;justify-content:space-between;gap:.6rem;border:0;padding:.1rem .2rem;text-align:right}
        table.stack td::before{content:attr(data-label);color:var(--muted);text-align:left;font-family:system-ui,sans-serif}
        table.stack td:empty{display:none}table.stack td .amt{white-space:nowrap}}
        """

    /// The tab icon (an SVG, so that the browser's automatic icon request finds something).
    public static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#17324f"/>\
        <rect x="3" y="9" width="2" height="4" fill="#7aa5e8"/><rect x="7" y="6" width="2" height="7" fill="#7aa5e8"/>\
        <rect x="11" y="3" width="2" height="10" fill="#7aa5e8"/></svg>
        """

    /// The Content-Security-Policy of every console response: nothing but this origin's
    /// stylesheet and icon may load, no script runs, forms submit only here.
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}
