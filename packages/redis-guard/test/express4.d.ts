// Express 4 is installed under the alias "express4" to test both majors; its API is typed here with
// Express 5's declarations, which cover everything the tests call.
declare module 'express4' {
  import express from 'express';
  export default express;
}
