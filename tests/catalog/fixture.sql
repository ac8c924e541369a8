-- The schema the catalog tests create on both PostgreSQL 15 and mallard (DuckDB) before
-- comparing what clients see of it. Every statement here must run unchanged on both:
-- no serial, no named CHECK constraints (DuckDB keeps only generated names), one
-- statement per line group, each ending with a semicolon at the end of a line.

create schema sales;

create table customers (
    id integer primary key,
    email varchar(80) not null unique,
    name text,
    created date
);

create table orders (
    id bigint primary key,
    customer_id integer not null references customers(id),
    total numeric(12,2) check (total >= 0),
    discount numeric,
    note varchar(20),
    placed timestamp,
    paid boolean default false
);

create index orders_placed_idx on orders(placed);

create unique index orders_note_idx on orders(customer_id, note);

create table sales.regions (
    code char(2) primary key,
    label text not null
);

create view big_orders as select id, total from orders where total > 100;

create sequence order_ids;

comment on table orders is 'One row per order';

comment on column orders.note is 'Free text, short';

create function with_tax(amount numeric) returns numeric language sql immutable as 'select amount * 1.2';

create function sales.region_label(code text, label text) returns text language sql as $$ select code || ': ' || label $$;
