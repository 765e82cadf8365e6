import { describe, expect, it } from 'vitest';
import { GHashOrder, ghashKeyOrder, gStrHash } from '../src/ghash.js';

// Iteration orders produced by the real GLib 2.74.6 (Debian 12's libglib-2.0.so.0,
// g_hash_table_new(g_str_hash, g_str_equal), insert all, remove some, iterate),
// recorded with Python ctypes.
const GLIB_CASES: { keys: string[]; remove: string[]; order: string[] }[] = [
  {"keys":["a","b","c","d","e"],"remove":[],"order":["e","b","d","a","c"]},
  {"keys":["id","y","z","w"],"remove":["id"],"order":["z","w","y"]},
  {"keys":["é","ü","x"],"remove":[],"order":["ü","é","x"]},
  {"keys":["af1r-7fq","péb1","lg0tjf6c","09m5os","o4sbe8","71049ml4","0ka5edc"],"remove":["af1r-7fq","péb1","09m5os","0ka5edc"],"order":["lg0tjf6c","71049ml4","o4sbe8"]},
  {"keys":["d2yz","a-hipg","yhz-nar","bnlzé","d","e8mrvft","3l7m04mi","0qav","cj"],"remove":["a-hipg","yhz-nar","bnlzé","d","e8mrvft","3l7m04mi","0qav","cj"],"order":["d2yz"]},
  {"keys":["ber-","rn","-b","s5leio27","pzq-é","k7my","éf-dggc4","v59i9cb2","tcbée2","tu","pdclsx58","8iyljtop","ee0","fxi","civwf2"],"remove":["rn","-b","s5leio27","pzq-é","k7my","éf-dggc4","v59i9cb2","pdclsx58","8iyljtop","ee0","fxi","civwf2"],"order":["tcbée2","tu","ber-"]},
  {"keys":["cl6vi2j","g6xemm2q","4a","t","yo9u","yft6","a26","h33q","rw65","1unghn","r","e","yi01may","-y53","0uecré","39fo057s","brpj","3puzqm_m","jm5kv","54","547","l","kh02r","zof","83m-6","x","v7-r3bne","ii3w","qbw4fc","tyntj","t8biz1","h","2b"],"remove":["cl6vi2j","g6xemm2q","t","yo9u","a26","h33q","rw65","1unghn","r","e","0uecré","39fo057s","brpj","3puzqm_m","547","l","kh02r","zof","x","v7-r3bne","ii3w","qbw4fc","tyntj","t8biz1","h","2b"],"order":["jm5kv","yft6","83m-6","54","-y53","4a","yi01may"]},
  {"keys":["49vq","yg_-6","58g0e7é","98l","z1_4w_","_lznle","z5pf","l-1x","8xy6","o","zmékg4","9d","0z4dm","i-1éq9-x","2g","1u","z8","8831tae","mzb","y","éumnmg","o_","by-5k6n","e96t6fv","éxac","6f","8sb","_bcgo","y2k","xbxz9y","d-","hndw5jhx","hkziv","t2gawd","jxjéus7","h4t4wrr8","u0","xh4v4m","c","owl","u","1eg","jmlhnlks","05t1u","8l6ey43","néft3","pif","rtvn","étx5s2r","rpmp","6","sjowux","sbap9","cdar","g39h4qm5","agqqrv7","f1s","hz8b","gp","qpc5g1jp","5n69","k","yduzd9u","ieh0n0_q","sip","efk7p","m8","6éd_3-s5","_x9","22wnvv"],"remove":["49vq","yg_-6","98l","z1_4w_","_lznle","z5pf","l-1x","8xy6","o","zmékg4","9d","0z4dm","i-1éq9-x","2g","z8","8831tae","mzb","y","éumnmg","by-5k6n","éxac","d-","hndw5jhx","hkziv","jxjéus7","h4t4wrr8","u0","xh4v4m","owl","u","1eg","jmlhnlks","05t1u","néft3","pif","rtvn","étx5s2r","rpmp","6","sjowux","sbap9","cdar","agqqrv7","f1s","hz8b","gp","qpc5g1jp","5n69","k","yduzd9u","ieh0n0_q","sip","efk7p","m8","6éd_3-s5","_x9"],"order":["o_","6f","y2k","_bcgo","58g0e7é","g39h4qm5","t2gawd","22wnvv","1u","xbxz9y","e96t6fv","8l6ey43","8sb","c"]},
];

describe('GHashOrder (glib/ghash.c iteration order)', () => {
  it('g_str_hash is djb2 over signed chars', () => {
    expect(gStrHash(Buffer.from(''))).toBe(5381);
    expect(gStrHash(Buffer.from('a'))).toBe((5381 * 33 + 97) >>> 0);
    expect(gStrHash(Buffer.from([0xff]))).toBe((5381 * 33 - 1) >>> 0);
    // A string hashes as QEMU holds it: U+0000 as C0 80.
    expect(gStrHash('a\0')).toBe(gStrHash(Buffer.from([0x61, 0xc0, 0x80])));
    expect(gStrHash('é')).toBe(gStrHash(Buffer.from('é')));
  });

  for (const [i, c] of GLIB_CASES.entries()) {
    it(`matches GLib: case ${i} (${c.keys.length} keys, ${c.remove.length} removed)`, () => {
      const m = new GHashOrder();
      for (const k of c.keys) m.insert(k);
      for (const k of c.remove) m.remove(k);
      expect(m.keysInOrder()).toEqual(c.order);
      expect(ghashKeyOrder(c.keys, c.remove)).toEqual(c.order);
    });
  }
});
