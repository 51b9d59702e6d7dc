CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT);
INSERT INTO notes (title, body) VALUES ('first', 'the first note'), ('second', 'another one'), ('third', NULL);
