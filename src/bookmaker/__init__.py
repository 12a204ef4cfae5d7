"""bookmaker: Markdown manuscripts to a print PDF and an EPUB 3 from one Book model.

Modules, in pipeline order:

- ``config``     reads and validates ``book.yaml`` into a typed ``BookConfig``
- ``reader``     finds the manuscript files, splits front matter, runs Markdown
- ``markup``     turns Markdown's HTML into the format-neutral chapter tree
- ``model``      the ``Book`` handed to every builder
- ``transforms`` book-wide passes: numbering, ids, table of contents
- ``builders``   ``pdf`` (WeasyPrint) and ``epub`` (ebooklib) writers
- ``pipeline``   ``build()``: the whole job, top to bottom
- ``cli``        the ``bookmaker`` command
- ``clock``      the only place that reads the clock (honours SOURCE_DATE_EPOCH)
- ``errors``, ``log``, ``resources`` (where the default styles live)

The author's workbench, around the pipeline:

- ``lint``       ``bookmaker check``: findings with stable codes and file:line
- ``preview``    ``bookmaker preview``: the book as web pages, reloaded on save
- ``watch``      reports saved files (``preview``, ``build --watch``)
- ``stats``      ``bookmaker stats``: words, notes, figures, pages, reading time
- ``scaffold``   ``bookmaker new``: a project from ``skeleton/``
- ``terminal``   colour and the progress line, only on a terminal
"""

__version__ = "0.1.0"
